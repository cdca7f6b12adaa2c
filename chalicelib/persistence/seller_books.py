"""A seller's book (SellerBookModel): its active bid profiles in one item, as bidding matches them.

`stage` adds the book's rewrite to the transaction that writes a profile, conditional on the book
being as read: two profile writes of one seller at once cannot lose each other's change (the loser's
transaction fails on the book, and it writes again)."""
from __future__ import annotations

from datetime import datetime


from chalicelib.persistence.tables import BidProfileModel, SellerBookModel
from chalicelib.persistence.unit_of_work import UnitOfWork


def read(seller_id: str) -> SellerBookModel:
    try:
        return SellerBookModel.get(seller_id, consistent_read=True)
    except SellerBookModel.DoesNotExist:
        return SellerBookModel(seller_id=seller_id, profiles={}, version=0)


def stage(work: UnitOfWork, before: BidProfileModel | None, after: BidProfileModel | None) -> SellerBookModel:
    """Adds the book's rewrite (the profile in, changed or out) to `work`; returns it, for failed_items."""
    profile = after or before
    book = read(profile.seller_id)
    read_version = int(book.version)
    profiles = dict(book.profiles or {})
    if after is not None and after.active:
        # A profile without a bid_amount (None) bids in auctions all the same.
        bid_amount = None if after.bid_amount is None else int(after.bid_amount)
        profiles[profile.profile_id] = {"criteria": after.criteria, "bid_amount": bid_amount,
                                        "terms": _kept(after.terms), "created_at": after.created_at.isoformat()}
    else:
        profiles.pop(profile.profile_id, None)
    book.profiles, book.version = profiles, read_version + 1
    unchanged = SellerBookModel.version == read_version if read_version else SellerBookModel.seller_id.does_not_exist()
    work.save(book, condition=unchanged)
    return book


# A profile's blocked callers (up to 1,000) are not copied into its seller's book, which must stay under
# DynamoDB's 400 KB item size with all of the seller's profiles: the book says that it blocks callers.
BLOCKS_CALLERS = "blocks_callers"


def _kept(terms: dict | None) -> dict | None:
    if not terms or not terms.get("blocked_callers"):
        return terms
    kept = {name: value for name, value in terms.items() if name != "blocked_callers"}
    return {**kept, BLOCKS_CALLERS: True}


def with_blocked_callers(profiles: list[BidProfileModel]) -> list[BidProfileModel]:
    """The profiles (from a book) with the blocked callers of those that block some, read in one BatchGetItem."""
    blocking = [p.profile_id for p in profiles if (p.terms or {}).get(BLOCKS_CALLERS)]
    if not blocking:
        return profiles
    stored = {p.profile_id: p.terms for p in BidProfileModel.batch_get(blocking)}
    for profile in profiles:
        if profile.profile_id in stored:
            profile.terms = stored[profile.profile_id]
    return profiles


def profiles_of(book: SellerBookModel) -> list[BidProfileModel]:
    """The seller's active profiles as the book keeps them (what matching and bidding use)."""
    return [BidProfileModel(profile_id, seller_id=book.seller_id, criteria=entry["criteria"],
                            bid_amount=entry["bid_amount"], terms=entry.get("terms"), active=True,
                            created_at=datetime.fromisoformat(entry["created_at"]))
            for profile_id, entry in (book.profiles or {}).items()]
