"""pathway: from big-data engineer to AI/LLM engineer, in the terminal."""

__version__ = "0.1.0"
