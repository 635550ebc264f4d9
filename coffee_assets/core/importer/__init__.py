"""Import the original showcase's whole-history CSV files into this project's daily layout.

`core` is pure (parse, check, repair, split by day); `cli` is `coffee-import`, which reads the
files from a folder or gs:// prefix and writes them into the target's bucket with a manifest
that tells the CSV assets to keep the imported days instead of generating them.
"""
