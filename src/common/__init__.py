"""What the producer, the consumer and the operator share: settings declarations, memory readings, HTTP and tracing."""
