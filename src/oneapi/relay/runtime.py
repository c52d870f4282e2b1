"""The relay's per-worker machinery: account cache, ledger and its writer, channel directory, HTTP pools."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp

from oneapi.config import Settings
from oneapi.db.engine import Database
from oneapi.relay.directory import ChannelDirectory
from oneapi.relay.response_owners import ResponseOwners
from oneapi.relay.upstream import Poster, open_poster, open_session
from oneapi.services.accounts import AccountCache
from oneapi.services.billing_writer import BillingWriter
from oneapi.services.ledger import QuotaLedger


@dataclass
class RelayRuntime:
    ledger: QuotaLedger
    writer: BillingWriter
    accounts: AccountCache
    directory: ChannelDirectory
    http: aiohttp.ClientSession
    upstream: Poster  # the relay's POSTs (upstream_send)
    response_owners: ResponseOwners = field(default_factory=ResponseOwners)

    @classmethod
    async def start(cls, db: Database, settings: Settings) -> RelayRuntime:
        ledger = QuotaLedger()
        writer = BillingWriter(ledger, db, settings)
        writer.start()
        directory = ChannelDirectory(db)
        await directory.reload()
        http = open_session(settings)
        # No token encoder is built here: they load on first use (relay.metering; ~170 MB).
        return cls(
            ledger=ledger,
            writer=writer,
            accounts=AccountCache(db, ledger, writer, ttl=settings.sync_frequency),
            directory=directory,
            http=http,
            upstream=open_poster(settings, http),
        )

    async def close(self) -> None:
        await self.upstream.close()
        await self.http.close()
        await self.writer.close()
