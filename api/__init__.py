"""Operator API and review pages (FastAPI). The top layer: may import dispatch, zones and detector."""
