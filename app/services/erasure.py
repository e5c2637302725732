"""Erasure of one customer's data (GDPR article 17), with an audit record that outlives it."""

import hashlib
import uuid
from dataclasses import dataclass

from app.db.database import Database
from app.domain.sessions import ErasedCounts
from app.services.access.keys import Caller
from app.stores.access import AccessStore
from app.stores.sessions import erase_customer


@dataclass(frozen=True)
class Erasure:
    counts: ErasedCounts
    customer_reference: str
    """What the audit log keeps instead of the customer id: a hash that proves, when asked,
    that this id was erased, without keeping the id itself."""


def customer_reference(project_id: uuid.UUID, customer_id: str) -> str:
    digest = hashlib.sha256(f"{project_id}:{customer_id}".encode()).hexdigest()
    return f"sha256:{digest}"


class ErasureService:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def erase_customer(self, customer_id: str, *, caller: Caller) -> Erasure:
        """Delete every session, event and rejected event of the customer in the caller's
        project and record who did it, when, and how much went, in one transaction."""
        reference = customer_reference(caller.project_id, customer_id)
        async with self._database.transaction() as connection:
            counts = await erase_customer(
                connection, project_id=caller.project_id, customer_id=customer_id
            )
            await AccessStore(connection).audit(
                project_id=caller.project_id,
                actor=caller.actor,
                action="customer.erased",
                target=reference,
                details={
                    "sessions": counts.sessions,
                    "events": counts.events,
                    "rejected_events": counts.rejected_events,
                },
            )
        return Erasure(counts=counts, customer_reference=reference)
