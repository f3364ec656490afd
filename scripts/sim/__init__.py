"""Closed-loop simulator for wva-optimizer (scripts/simulate).

Modules: inputs (catalogue YAML, trace CSV), serving (the fluid model of
vLLM replicas, pods and GPUs), snapshot (SPEC section 8 snapshots of the
simulated cluster), policies (wva-optimizer itself and the baselines),
report (the table and the plot), run (the loop and the command line).
"""
