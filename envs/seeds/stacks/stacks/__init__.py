"""Stack, queue and priority queue, plus two classic uses of a stack."""
