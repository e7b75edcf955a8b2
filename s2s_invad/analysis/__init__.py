"""Analyses and planning over the SSA IR: activity, the layered graph, the schedule,
the lumps and the memory plan. Nothing here writes code."""
