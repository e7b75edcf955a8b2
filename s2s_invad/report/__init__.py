"""Reports for people: the explain text, the layered-graph drawing, the drift report."""
