"""The domain: model, ports, errors and the selector grammar. Pure: stdlib only, no I/O."""
