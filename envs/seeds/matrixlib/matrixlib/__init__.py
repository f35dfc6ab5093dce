"""Dense matrices as lists of rows, with exact Fraction arithmetic where it matters."""
