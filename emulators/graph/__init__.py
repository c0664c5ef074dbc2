"""The Entra ID and Microsoft Graph emulator: the authority endpoints MSAL uses and Graph v1.0
users, domains and `$batch`, with Graph's throttling model and error envelopes.

`emulators.graph.app.EntraEmulator` is the entry point; the state format is in
`emulators/README.md`.
"""
