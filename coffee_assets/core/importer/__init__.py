"""Import the original showcase's whole-history CSV files into this project's daily layout.

The pure part: `model` (what an import is made of), `parse` (the files into typed tables), `plan`
(the rules: `plan_import`), `repair` (what `--repair` changes), `write` (the daily files).
`cli/importer.py` is `coffee-import`, which reads the files from a folder or gs:// prefix and
writes them into the target's bucket with a manifest that tells the CSV assets to keep the
imported days instead of generating them.
"""
