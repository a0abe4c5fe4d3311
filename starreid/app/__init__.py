"""The top layer: the command line, its verbs, the config schema and the supervisor. It builds the stages'
components from validated config; no stage imports it."""
