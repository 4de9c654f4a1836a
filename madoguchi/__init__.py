"""Madoguchi: one window for every customer contact of a small e-commerce shop."""
