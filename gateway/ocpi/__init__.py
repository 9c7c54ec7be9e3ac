"""OCPI protocol plumbing shared by every module: envelope, status codes, auth, pagination, headers, versions."""
