"""The Huma emulator: Huma's Open API (v1.53.2) for users, positions and tokens.

The emulator class is `emulators.huma.app.HumaEmulator`.
"""
