"""argmine: argument mining for commentary, from raw article to tagged corpus."""

__version__ = "0.1.0"
