"""DCGAN, executable: the library behind the book."""
