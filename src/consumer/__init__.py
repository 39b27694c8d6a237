"""The consumer: processes work items at a configurable pace and pushes back (503) when it is full."""
