"""slth: strong lottery ticket theorems as experiments."""
