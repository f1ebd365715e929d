"""Layer 5, the metrics: the measure kinds (the built-in ``proportion`` among them) and metric
evaluation."""
