"""Widgets of the embedsql app, one per module (Harlequin's layout): they talk to the app by messages."""
