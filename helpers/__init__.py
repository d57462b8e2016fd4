"""Shared code for the LLM-training workbook notebooks (one module per idea)."""

__version__ = "0.1.0"
