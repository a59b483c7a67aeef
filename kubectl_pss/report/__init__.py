"""Renderers: tables for people, JSON and YAML for machines. Machine output goes to stdout only."""
