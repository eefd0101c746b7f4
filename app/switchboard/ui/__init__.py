"""Qt front end. The only package (with application.py) that imports PySide6/qasync."""
