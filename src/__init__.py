"""backpressure-lab: a producer, a consumer and a kopf operator that teach backpressure on Kubernetes."""
