"""Sage 100 behind one small interface: the on-premises agent's JSON change feed."""
