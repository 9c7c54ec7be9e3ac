"""Small pure-Python oracles that the Rust core is checked against."""
