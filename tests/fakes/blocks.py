"""A stand-in for aiohttp's StreamReader: what the network delivers, block by block."""

from __future__ import annotations


class Blocks:
    def __init__(self, blocks: list[bytes]) -> None:
        self.blocks = blocks

    async def readany(self) -> bytes:
        return self.blocks.pop(0) if self.blocks else b""
