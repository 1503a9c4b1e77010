"""Result tables and their statistics; imports no torch, so pages that only read tables start fast."""
