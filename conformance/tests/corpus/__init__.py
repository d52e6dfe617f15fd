"""Deliberately broken (and one correct) adapters the suite must tell apart."""
