"""Exercise set 7: PyTorch in practice (Chapter 7)."""
