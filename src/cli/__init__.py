"""`bplab`: status, a live view and exercise checks for learners and instructors, against local mode or the cluster."""
