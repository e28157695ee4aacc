"""Hook implementations of the smime plugin, and nothing else."""
