"""Illustrations for library items: a small figure renderer, pictograms, and the per-item lookup."""
