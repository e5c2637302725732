"""Erasure of one customer's data (GDPR article 17), with an audit record that outlives it, and
the suppression list that keeps the data from coming back (docs/security.md, "Erasure")."""

import uuid
from dataclasses import dataclass

from app.db.database import Database
from app.domain.sessions import ErasedCounts, customer_reference
from app.errors import NotFoundError
from app.services.access.keys import Caller
from app.stores.access import AccessStore
from app.stores.erasures import ErasureStore, Suppression
from app.stores.sessions import erase_customer

# The suppression list shown at once (newest first): an admin's view, not an export.
SUPPRESSIONS_SHOWN = 100


@dataclass(frozen=True)
class Erasure:
    counts: ErasedCounts
    customer_reference: str
    """What the audit log keeps instead of the customer id (domain.sessions.customer_reference)."""


class ErasureService:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def erase_customer(self, customer_id: str, *, caller: Caller) -> Erasure:
        """Delete every session, event and rejected event of the customer in the caller's
        project, remember the customer and its sessions so that later writes for them are
        refused, and record who did it, when, and how much went, in one transaction."""
        reference = customer_reference(caller.project_id, customer_id)
        async with self._database.transaction() as connection:
            counts = await erase_customer(
                connection, project_id=caller.project_id, customer_id=customer_id
            )
            await ErasureStore(connection, caller.project_id).remember(
                reference, counts.session_ids
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

    async def lift(self, customer_id: str, *, caller: Caller) -> Suppression:
        """Take writes for an erased customer (and its erased sessions) again; audited. 404
        when the customer is not on the project's suppression list."""
        reference = customer_reference(caller.project_id, customer_id)
        async with self._database.transaction() as connection:
            lifted = await ErasureStore(connection, caller.project_id).lift(reference)
            if lifted is None:
                raise NotFoundError("customer_id was not erased in this project")
            await AccessStore(connection).audit(
                project_id=caller.project_id,
                actor=caller.actor,
                action="customer.erasure_lifted",
                target=reference,
                details={"refused_writes": lifted.refused_writes},
            )
        return lifted

    async def suppressions(self, project_id: uuid.UUID) -> list[Suppression]:
        async with self._database.connection() as connection:
            return await ErasureStore(connection, project_id).list(limit=SUPPRESSIONS_SHOWN)
