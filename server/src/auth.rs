//! Identity without an external provider: users, invites, sessions, roles.
//!
//! - An **invite** (a random token, stored only as its SHA-256) grants a role
//!   in a workshop (`host` or `participant`), or `admin` for the one-time
//!   sign-in link of a fresh server. It has an expiry, a use limit, and can
//!   be revoked (which also revokes the sessions made from it).
//! - Accepting an invite with a display name makes a **user** and a
//!   **session**: another random token, stored only as its hash, sent to the
//!   browser as an HttpOnly cookie and usable as `?token=` or a bearer
//!   token by other clients. A session ends after a time without use (the
//!   idle lifetime) and, however often it is used, after its absolute
//!   lifetime; an ended session is deleted when next read, and reads as
//!   unknown everywhere. Its last use is written back only once a tenth of
//!   the idle lifetime has passed since the last one written, so reading a
//!   session is not a store write per request.
//! - A user's **role** in a workshop: `host` (admins are hosts everywhere),
//!   `participant`, or, without a membership, `public` (open workshops) or
//!   nothing (invite-only workshops, which then do not exist for them).

use std::sync::{Arc, Mutex};

use docsync::DocumentId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::store::{Store, StoreError, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads open workshops; sends nothing that is kept.
    Public,
    /// Comments and contributes; never changes the summary.
    Participant,
    /// In a draft (a participant's copy of a summary): edits the summary's
    /// text, metadata and actions, nothing else. Its owner and the
    /// workshop's hosts have it.
    Drafter,
    /// Everything in the workshop.
    Host,
}

/// What an invite grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grant {
    Participant,
    Host,
    Admin,
    /// A personal sign-in link: signs into an existing user (`user_id`),
    /// granting nothing new; a host issues it for a participant who lost
    /// access, so that their authorship stays theirs.
    #[serde(rename = "sign-in")]
    SignIn,
}

/// Whether an invite can still be used, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InviteState {
    Valid,
    Expired,
    UsedUp,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    pub admin: bool,
    pub created_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub id: String,
    pub workshop_id: Option<String>,
    pub grant: Grant,
    pub expires_at: Option<u64>,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub revoked: bool,
    pub created_at: u64,
    /// For a personal sign-in link ([`Grant::SignIn`]): the user it signs
    /// into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub invite_id: Option<String>,
    pub revoked: bool,
    pub created_at: u64,
    /// Start of the absolute lifetime. `None` in sessions stored before
    /// sessions expired: their lifetime starts at their first use since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// The last use recorded (to within a tenth of the idle lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<u64>,
}

/// How long sessions last, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Without use.
    pub idle: u64,
    /// At most, however often used.
    pub absolute: u64,
}

impl Lifetimes {
    pub fn of(config: &crate::Config) -> Self {
        Self {
            idle: config.session_idle.as_secs(),
            absolute: config.session_lifetime.as_secs(),
        }
    }
}

/// A stored session's state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    /// Valid; nothing to record.
    Fresh,
    /// Valid; its last use (or, for an old record, its start) is to be
    /// written.
    Touch,
    /// Past its idle or absolute lifetime.
    Expired,
}

/// What revoking an invite ended.
#[derive(Debug)]
pub struct Revoked {
    pub invite: Invite,
    pub sessions: Vec<String>,
    pub users: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("this invite link is not valid (unknown, expired, used up or revoked)")]
    InvalidInvite,
    #[error(transparent)]
    BadName(crate::input::TextError),
    #[error("not signed in")]
    NoSession,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("corrupt record: {0}")]
    Record(#[from] serde_json::Error),
}

/// A fresh secret token (256 bits, hex).
fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn new_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Users, invites, sessions and memberships over a store.
#[derive(Clone)]
pub struct Auth {
    store: Arc<dyn Store>,
    clock: Clock,
    lifetimes: Lifetimes,
    /// Serialises read-modify-write of invites (their use counts).
    invites: Arc<Mutex<()>>,
    /// Serialises check-then-bind of actor ids.
    actors: Arc<Mutex<()>>,
    /// Actor bindings read or made by this process. A binding never
    /// changes once made (the store binds only an unbound actor), so it may
    /// be remembered: every incoming change asks for its actor's owner,
    /// which would otherwise be a store read (a round trip on PostgreSQL).
    owners: Arc<Mutex<OwnerCache>>,
}

/// Remembered actor bindings, forgotten all at once when full (a bound on
/// memory; they are read again from the store as needed).
#[derive(Default)]
struct OwnerCache(std::collections::HashMap<Vec<u8>, String>);

impl OwnerCache {
    const MAX: usize = 100_000;

    fn get(&self, actor: &[u8]) -> Option<String> {
        self.0.get(actor).cloned()
    }

    fn insert(&mut self, actor: &[u8], owner: &str) {
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        self.0.insert(actor.to_vec(), owner.to_owned());
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth")
    }
}

fn get<T: for<'de> Deserialize<'de>>(
    store: &dyn Store,
    table: Table,
    key: &[u8],
) -> Result<Option<T>, AuthError> {
    match store.get(table, key)? {
        Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
        None => Ok(None),
    }
}

fn put<T: Serialize>(
    store: &dyn Store,
    table: Table,
    key: &[u8],
    value: &T,
) -> Result<(), AuthError> {
    store.put(table, key, &serde_json::to_vec(value)?)?;
    Ok(())
}

/// A role in a workshop, and the invite that granted it (if any).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    role: Role,
    invite_id: Option<String>,
}

fn membership_key(workshop: &DocumentId, user_id: &str) -> Vec<u8> {
    let mut key = workshop.as_bytes().to_vec();
    key.extend_from_slice(user_id.as_bytes());
    key
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, clock: Clock, lifetimes: Lifetimes) -> Self {
        Self {
            store,
            clock,
            lifetimes,
            invites: Arc::default(),
            actors: Arc::default(),
            owners: Arc::default(),
        }
    }

    fn owners(&self) -> std::sync::MutexGuard<'_, OwnerCache> {
        self.owners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes an invite; returns it with its secret token (shown once).
    pub fn create_invite(
        &self,
        workshop: Option<&DocumentId>,
        grant: Grant,
        expires_in_seconds: Option<u64>,
        max_uses: Option<u32>,
    ) -> Result<(Invite, String), AuthError> {
        let token = new_token();
        let now = self.clock.now();
        let invite = Invite {
            id: new_id(),
            workshop_id: workshop.map(ToString::to_string),
            grant,
            expires_at: expires_in_seconds.map(|s| now.saturating_add(s)),
            max_uses,
            uses: 0,
            revoked: false,
            created_at: now,
            user_id: None,
        };
        put(self.store.as_ref(), Table::Invites, &hash(&token), &invite)?;
        Ok((invite, token))
    }

    /// Makes a one-time personal sign-in link into an existing user, valid
    /// for `expires_in_seconds`; returns it with its secret token.
    pub fn create_sign_in_link(
        &self,
        workshop: &DocumentId,
        user_id: &str,
        expires_in_seconds: u64,
    ) -> Result<(Invite, String), AuthError> {
        let token = new_token();
        let now = self.clock.now();
        let invite = Invite {
            id: new_id(),
            workshop_id: Some(workshop.to_string()),
            grant: Grant::SignIn,
            expires_at: Some(now.saturating_add(expires_in_seconds)),
            max_uses: Some(1),
            uses: 0,
            revoked: false,
            created_at: now,
            user_id: Some(user_id.to_owned()),
        };
        put(self.store.as_ref(), Table::Invites, &hash(&token), &invite)?;
        Ok((invite, token))
    }

    /// Whether an invite can be used now.
    pub fn invite_state(&self, invite: &Invite) -> InviteState {
        if invite.revoked {
            InviteState::Revoked
        } else if invite.max_uses.is_some_and(|m| invite.uses >= m) {
            InviteState::UsedUp
        } else if invite.expires_at.is_some_and(|t| self.clock.now() >= t) {
            InviteState::Expired
        } else {
            InviteState::Valid
        }
    }

    /// Every invite of a workshop (without tokens).
    pub fn invites_of(&self, workshop: &DocumentId) -> Result<Vec<Invite>, AuthError> {
        let id = workshop.to_string();
        let mut all = Vec::new();
        for (_, v) in self.store.scan(Table::Invites, &[])? {
            let invite: Invite = serde_json::from_slice(&v)?;
            if invite.workshop_id.as_deref() == Some(id.as_str()) {
                all.push(invite);
            }
        }
        all.sort_by_key(|i| i.created_at);
        Ok(all)
    }

    /// Revokes an invite by id and every session made from it. Returns the
    /// invite and the ids of the sessions revoked.
    pub fn revoke_invite(&self, invite_id: &str) -> Result<Option<Revoked>, AuthError> {
        let _guard = self
            .invites
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut found = None;
        for (k, v) in self.store.scan(Table::Invites, &[])? {
            let mut invite: Invite = serde_json::from_slice(&v)?;
            if invite.id == invite_id {
                invite.revoked = true;
                put(self.store.as_ref(), Table::Invites, &k, &invite)?;
                found = Some(invite);
                break;
            }
        }
        let Some(invite) = found else { return Ok(None) };
        let mut users = Vec::new();
        for (k, v) in self.store.scan(Table::Memberships, &[])? {
            let m: Membership = serde_json::from_slice(&v)?;
            if m.invite_id.as_deref() == Some(invite_id) {
                self.store.delete(Table::Memberships, &k)?;
                users.push(String::from_utf8_lossy(k.get(16..).unwrap_or_default()).into_owned());
            }
        }
        let mut revoked = Vec::new();
        for (k, v) in self.store.scan(Table::Sessions, &[])? {
            let mut session: Session = serde_json::from_slice(&v)?;
            if session.invite_id.as_deref() == Some(invite_id) && !session.revoked {
                session.revoked = true;
                put(self.store.as_ref(), Table::Sessions, &k, &session)?;
                revoked.push(session.id);
            }
        }
        Ok(Some(Revoked {
            invite,
            sessions: revoked,
            users,
        }))
    }

    /// The invite behind a token, whatever its state (to know where
    /// accepting it leads).
    pub fn invite(&self, token: &str) -> Result<Option<Invite>, AuthError> {
        get(self.store.as_ref(), Table::Invites, &hash(token))
    }

    /// Uses an invite: a new user named `name` (or `existing`, if signed
    /// in) gets what it grants, and a new session. Returns the session
    /// token and the user.
    pub fn accept_invite(
        &self,
        token: &str,
        name: &str,
        existing: Option<&User>,
    ) -> Result<(String, User, Session), AuthError> {
        let key = hash(token);
        let _guard = self
            .invites
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut invite: Invite =
            get(self.store.as_ref(), Table::Invites, &key)?.ok_or(AuthError::InvalidInvite)?;
        if self.invite_state(&invite) != InviteState::Valid {
            return Err(AuthError::InvalidInvite);
        }
        // A personal sign-in link signs into its user, whoever opens it.
        if invite.grant == Grant::SignIn {
            let user: User = match &invite.user_id {
                Some(id) => self.user(id)?.ok_or(AuthError::InvalidInvite)?,
                None => return Err(AuthError::InvalidInvite),
            };
            invite.uses += 1;
            put(self.store.as_ref(), Table::Invites, &key, &invite)?;
            let (token, session) = self.new_session(&user, Some(invite.id.clone()))?;
            return Ok((token, user, session));
        }
        // A signed-in caller keeps their name.
        let name = match existing {
            None => crate::input::DISPLAY_NAME
                .check(name)
                .map_err(AuthError::BadName)?,
            Some(_) => String::new(),
        };
        invite.uses += 1;
        put(self.store.as_ref(), Table::Invites, &key, &invite)?;
        let mut user = match existing {
            Some(u) => u.clone(),
            None => User {
                id: new_id(),
                name,
                admin: false,
                created_at: self.clock.now(),
            },
        };
        match (invite.grant, &invite.workshop_id) {
            (Grant::Admin, _) => user.admin = true,
            (Grant::SignIn, _) => return Err(AuthError::InvalidInvite),
            (grant, Some(workshop)) => {
                let workshop = DocumentId::parse(workshop).map_err(|_| AuthError::InvalidInvite)?;
                let role = if grant == Grant::Host {
                    Role::Host
                } else {
                    Role::Participant
                };
                // Never lower an existing role.
                if self
                    .membership(&workshop, &user.id)?
                    .is_none_or(|r| r < role)
                {
                    self.grant(&workshop, &user.id, role, Some(invite.id.clone()))?;
                }
            }
            (_, None) => return Err(AuthError::InvalidInvite),
        }
        put(self.store.as_ref(), Table::Users, user.id.as_bytes(), &user)?;
        // A session is tied to the invite only if the invite made the user:
        // revoking it then ends that identity, not someone's own account.
        let origin = existing.is_none().then(|| invite.id.clone());
        let (token, session) = self.new_session(&user, origin)?;
        Ok((token, user, session))
    }

    fn new_session(
        &self,
        user: &User,
        invite_id: Option<String>,
    ) -> Result<(String, Session), AuthError> {
        let token = new_token();
        let now = self.clock.now();
        let session = Session {
            id: new_id(),
            user_id: user.id.clone(),
            invite_id,
            revoked: false,
            created_at: now,
            started_at: Some(now),
            last_seen_at: Some(now),
        };
        put(
            self.store.as_ref(),
            Table::Sessions,
            &hash(&token),
            &session,
        )?;
        Ok((token, session))
    }

    fn freshness(&self, session: &Session, now: u64) -> Freshness {
        let (Some(started), Some(seen)) = (session.started_at, session.last_seen_at) else {
            // Stored before sessions expired: its lifetime starts now.
            return Freshness::Touch;
        };
        if now >= started.saturating_add(self.lifetimes.absolute)
            || now >= seen.saturating_add(self.lifetimes.idle)
        {
            Freshness::Expired
        } else if now.saturating_sub(seen) >= self.lifetimes.idle / 10 {
            Freshness::Touch
        } else {
            Freshness::Fresh
        }
    }

    /// The session stored under `key` if it is live (not revoked, not
    /// expired), its use recorded; an expired one is deleted.
    fn live_session(&self, key: &[u8]) -> Result<Option<Session>, AuthError> {
        let Some(mut session): Option<Session> = get(self.store.as_ref(), Table::Sessions, key)?
        else {
            return Ok(None);
        };
        if session.revoked {
            return Ok(None);
        }
        let now = self.clock.now();
        match self.freshness(&session, now) {
            Freshness::Fresh => {}
            Freshness::Touch => {
                session.started_at.get_or_insert(now);
                session.last_seen_at = Some(now);
                put(self.store.as_ref(), Table::Sessions, key, &session)?;
            }
            Freshness::Expired => {
                self.store.delete(Table::Sessions, key)?;
                return Ok(None);
            }
        }
        Ok(Some(session))
    }

    /// The live session and user behind a token.
    pub fn session(&self, token: &str) -> Result<Option<(Session, User)>, AuthError> {
        let Some(session) = self.live_session(&hash(token))? else {
            return Ok(None);
        };
        let user: Option<User> = get(
            self.store.as_ref(),
            Table::Users,
            session.user_id.as_bytes(),
        )?;
        Ok(user.map(|u| (session, u)))
    }

    /// Whether the session with this id exists, is not revoked and has not
    /// expired.
    pub fn session_by_id_valid(&self, id: &str) -> Result<bool, AuthError> {
        let now = self.clock.now();
        for (_, v) in self.store.scan(Table::Sessions, &[])? {
            let session: Session = serde_json::from_slice(&v)?;
            if session.id == id {
                return Ok(!session.revoked && self.freshness(&session, now) != Freshness::Expired);
            }
        }
        Ok(false)
    }

    /// Revokes a live session by token (sign out).
    pub fn end_session(&self, token: &str) -> Result<Option<Session>, AuthError> {
        let key = hash(token);
        let Some(mut session) = self.live_session(&key)? else {
            return Ok(None);
        };
        session.revoked = true;
        put(self.store.as_ref(), Table::Sessions, &key, &session)?;
        Ok(Some(session))
    }

    /// A user's live sessions, oldest first.
    pub fn sessions_of(&self, user_id: &str) -> Result<Vec<Session>, AuthError> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for (_, v) in self.store.scan(Table::Sessions, &[])? {
            let session: Session = serde_json::from_slice(&v)?;
            if session.user_id == user_id
                && !session.revoked
                && self.freshness(&session, now) != Freshness::Expired
            {
                out.push(session);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// Ends one of a user's live sessions by its id; `None` if the user has
    /// no live session with that id.
    pub fn end_session_of(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<Session>, AuthError> {
        let now = self.clock.now();
        for (k, v) in self.store.scan(Table::Sessions, &[])? {
            let mut session: Session = serde_json::from_slice(&v)?;
            if session.id == session_id
                && session.user_id == user_id
                && !session.revoked
                && self.freshness(&session, now) != Freshness::Expired
            {
                session.revoked = true;
                put(self.store.as_ref(), Table::Sessions, &k, &session)?;
                return Ok(Some(session));
            }
        }
        Ok(None)
    }

    /// Ends every live session of a user except `keep` (signing out
    /// everywhere else), in one pass over the sessions; returns those ended.
    pub fn end_sessions_of_except(
        &self,
        user_id: &str,
        keep: &str,
    ) -> Result<Vec<Session>, AuthError> {
        let now = self.clock.now();
        let mut ended = Vec::new();
        for (k, v) in self.store.scan(Table::Sessions, &[])? {
            let mut session: Session = serde_json::from_slice(&v)?;
            if session.user_id == user_id
                && session.id != keep
                && !session.revoked
                && self.freshness(&session, now) != Freshness::Expired
            {
                session.revoked = true;
                put(self.store.as_ref(), Table::Sessions, &k, &session)?;
                ended.push(session);
            }
        }
        Ok(ended)
    }

    /// Deletes every session past its lifetime (revoked ones included:
    /// they can never be valid again). Returns how many.
    pub fn remove_expired_sessions(&self) -> Result<usize, AuthError> {
        let now = self.clock.now();
        let mut removed = 0;
        for (k, v) in self.store.scan(Table::Sessions, &[])? {
            let session: Session = serde_json::from_slice(&v)?;
            if self.freshness(&session, now) == Freshness::Expired {
                self.store.delete(Table::Sessions, &k)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The ids of every live session (not revoked, not expired).
    pub fn live_session_ids(&self) -> Result<std::collections::HashSet<String>, AuthError> {
        let now = self.clock.now();
        let mut live = std::collections::HashSet::new();
        for (_, v) in self.store.scan(Table::Sessions, &[])? {
            let session: Session = serde_json::from_slice(&v)?;
            if !session.revoked && self.freshness(&session, now) != Freshness::Expired {
                live.insert(session.id);
            }
        }
        Ok(live)
    }

    /// How long sessions last.
    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    pub fn membership(
        &self,
        workshop: &DocumentId,
        user_id: &str,
    ) -> Result<Option<Role>, AuthError> {
        let key = membership_key(workshop, user_id);
        let m: Option<Membership> = get(self.store.as_ref(), Table::Memberships, &key)?;
        Ok(m.map(|m| m.role))
    }

    pub fn set_membership(
        &self,
        workshop: &DocumentId,
        user_id: &str,
        role: Role,
    ) -> Result<(), AuthError> {
        self.grant(workshop, user_id, role, None)
    }

    fn grant(
        &self,
        workshop: &DocumentId,
        user_id: &str,
        role: Role,
        invite_id: Option<String>,
    ) -> Result<(), AuthError> {
        let m = Membership { role, invite_id };
        put(
            self.store.as_ref(),
            Table::Memberships,
            &membership_key(workshop, user_id),
            &m,
        )
    }

    /// The user's role in a workshop; `None` means the workshop does not
    /// exist for them.
    pub fn role(
        &self,
        user: Option<&User>,
        workshop: &DocumentId,
        open: bool,
    ) -> Result<Option<Role>, AuthError> {
        if let Some(user) = user {
            if user.admin {
                return Ok(Some(Role::Host));
            }
            if let Some(role) = self.membership(workshop, &user.id)? {
                return Ok(Some(role));
            }
        }
        Ok(open.then_some(Role::Public))
    }

    /// The user an automerge actor id is bound to, if any.
    pub fn actor_owner(&self, actor: &[u8]) -> Result<Option<String>, AuthError> {
        if let Some(owner) = self.owners().get(actor) {
            return Ok(Some(owner));
        }
        let owner = self
            .store
            .get(Table::Actors, actor)?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        if let Some(owner) = &owner {
            self.owners().insert(actor, owner);
        }
        Ok(owner)
    }

    /// Binds an actor id to a user unless it is bound already (durable with
    /// the next flush at the latest). Returns whether the actor is now the
    /// user's. The store binds atomically (a database constraint on
    /// PostgreSQL), so two nodes racing cannot both win.
    pub fn bind_actor(&self, actor: &[u8], user_id: &str) -> Result<bool, AuthError> {
        let owner = self.store.bind_actor(actor, user_id)?;
        self.owners().insert(actor, &owner);
        Ok(owner == user_id)
    }

    /// The automerge actor id the server writes with on a user's behalf
    /// (reviews, merges, published versions). It is random, made the first
    /// time it is needed and bound to the user in the same step, so nobody
    /// can know it before it is theirs, let alone claim it first.
    pub fn edit_actor(&self, user_id: &str) -> Result<Vec<u8>, AuthError> {
        let _guard = self
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(actor) = self.store.get(Table::EditActors, user_id.as_bytes())? {
            return Ok(actor);
        }
        let actor = loop {
            let actor = rand::random::<[u8; 16]>().to_vec();
            if self.store.bind_actor(&actor, user_id)? == user_id {
                break actor;
            }
        };
        self.store
            .put(Table::EditActors, user_id.as_bytes(), &actor)?;
        Ok(actor)
    }

    /// A workshop's members (user id, role), in no particular order.
    pub fn members_of(&self, workshop: &DocumentId) -> Result<Vec<(String, Role)>, AuthError> {
        let mut out = Vec::new();
        for (k, v) in self.store.scan(Table::Memberships, workshop.as_bytes())? {
            let m: Membership = serde_json::from_slice(&v)?;
            if let Some(user) = k.get(16..) {
                out.push((String::from_utf8_lossy(user).into_owned(), m.role));
            }
        }
        Ok(out)
    }

    /// Whether the user hosts at least one workshop.
    pub fn hosts_anywhere(&self, user_id: &str) -> Result<bool, AuthError> {
        for (k, v) in self.store.scan(Table::Memberships, &[])? {
            if k.get(16..) == Some(user_id.as_bytes())
                && serde_json::from_slice::<Membership>(&v)?.role == Role::Host
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn user(&self, id: &str) -> Result<Option<User>, AuthError> {
        get(self.store.as_ref(), Table::Users, id.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::MemoryStore;

    const DAY: u64 = 24 * 3600;

    fn auth(clock: &Clock) -> (Auth, Arc<dyn Store>) {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let lifetimes = Lifetimes {
            idle: 30 * DAY,
            absolute: 90 * DAY,
        };
        (Auth::new(store.clone(), clock.clone(), lifetimes), store)
    }

    /// A user signed in through a participant invite: their session token.
    fn signed_in(auth: &Auth) -> String {
        let workshop = DocumentId::random();
        let (_, invite) = auth
            .create_invite(Some(&workshop), Grant::Participant, None, None)
            .expect("invite");
        auth.accept_invite(&invite, "Alice", None)
            .expect("accept")
            .0
    }

    fn stored(store: &Arc<dyn Store>, token: &str) -> Option<Session> {
        get(store.as_ref(), Table::Sessions, &hash(token)).expect("read")
    }

    #[test]
    fn a_session_unused_for_its_idle_lifetime_ends_and_is_deleted() {
        let clock = Clock::manual();
        let (auth, store) = auth(&clock);
        let token = signed_in(&auth);
        let id = auth.session(&token).expect("read").expect("live").0.id;
        clock.advance(Duration::from_secs(30 * DAY - 1));
        assert!(auth.session_by_id_valid(&id).expect("read"));
        clock.advance(Duration::from_secs(1));
        assert!(!auth.session_by_id_valid(&id).expect("read"));
        assert!(auth.session(&token).expect("read").is_none());
        assert!(stored(&store, &token).is_none(), "deleted");
        assert!(auth.end_session(&token).expect("read").is_none());
    }

    #[test]
    fn use_keeps_a_session_alive_until_its_absolute_lifetime() {
        let clock = Clock::manual();
        let (auth, store) = auth(&clock);
        let token = signed_in(&auth);
        // Used every 20 days: never idle for 30.
        for _ in 0..4 {
            clock.advance(Duration::from_secs(20 * DAY));
            assert!(auth.session(&token).expect("read").is_some());
        }
        clock.advance(Duration::from_secs(10 * DAY - 1));
        assert!(
            auth.session(&token).expect("read").is_some(),
            "day 90 - 1 s"
        );
        clock.advance(Duration::from_secs(1));
        assert!(auth.session(&token).expect("read").is_none(), "day 90");
        assert!(stored(&store, &token).is_none());
    }

    #[test]
    fn a_use_is_written_only_once_a_tenth_of_the_idle_lifetime_has_passed() {
        let clock = Clock::manual();
        let (auth, store) = auth(&clock);
        let token = signed_in(&auth);
        let created = stored(&store, &token).expect("stored");
        clock.advance(Duration::from_secs(3 * DAY - 1));
        assert!(auth.session(&token).expect("read").is_some());
        assert_eq!(
            stored(&store, &token).expect("stored").last_seen_at,
            created.last_seen_at,
            "not written within a tenth of the idle lifetime"
        );
        clock.advance(Duration::from_secs(1));
        assert!(auth.session(&token).expect("read").is_some());
        assert_eq!(
            stored(&store, &token).expect("stored").last_seen_at,
            Some(clock.now())
        );
    }

    #[test]
    fn a_session_stored_before_lifetimes_existed_starts_its_lifetime_at_first_use() {
        let clock = Clock::manual();
        let (auth, store) = auth(&clock);
        let token = signed_in(&auth);
        // As the previous version stored it: created long ago, no times.
        let mut old = serde_json::to_value(stored(&store, &token).expect("stored")).expect("json");
        let object = old.as_object_mut().expect("object");
        object.remove("startedAt");
        object.remove("lastSeenAt");
        object.insert("createdAt".into(), (clock.now() - 400 * DAY).into());
        put(store.as_ref(), Table::Sessions, &hash(&token), &old).expect("write");

        assert!(auth.session(&token).expect("read").is_some(), "still valid");
        let migrated = stored(&store, &token).expect("stored");
        assert_eq!(migrated.started_at, Some(clock.now()));
        assert_eq!(migrated.last_seen_at, Some(clock.now()));
        clock.advance(Duration::from_secs(30 * DAY));
        assert!(auth.session(&token).expect("read").is_none());
    }

    #[test]
    fn ending_a_users_other_sessions_keeps_the_one_named_and_other_users() {
        let clock = Clock::manual();
        let (auth, _) = auth(&clock);
        let here = signed_in(&auth);
        let (here_session, alice) = auth.session(&here).expect("read").expect("live");
        // Alice signs in twice more (her account gets each invite's role).
        let mut others = Vec::new();
        for _ in 0..2 {
            let (_, invite) = auth
                .create_invite(Some(&DocumentId::random()), Grant::Participant, None, None)
                .expect("invite");
            others.push(
                auth.accept_invite(&invite, "", Some(&alice))
                    .expect("accept")
                    .0,
            );
        }
        let bob = signed_in(&auth);
        let ended = auth
            .end_sessions_of_except(&alice.id, &here_session.id)
            .expect("end");
        assert_eq!(ended.len(), 2);
        assert!(ended.iter().all(|s| s.user_id == alice.id && s.revoked));
        for token in &others {
            assert!(auth.session(token).expect("read").is_none());
        }
        assert!(auth.session(&here).expect("read").is_some(), "kept");
        assert!(
            auth.session(&bob).expect("read").is_some(),
            "another user's"
        );
        assert_eq!(auth.sessions_of(&alice.id).expect("list").len(), 1);
        let again = auth
            .end_sessions_of_except(&alice.id, &here_session.id)
            .expect("end");
        assert!(again.is_empty(), "nothing left to end");
    }

    #[test]
    fn the_sweep_removes_expired_and_long_revoked_sessions_only() {
        let clock = Clock::manual();
        let (auth, store) = auth(&clock);
        let old = signed_in(&auth);
        let revoked = signed_in(&auth);
        auth.end_session(&revoked).expect("sign out");
        clock.advance(Duration::from_secs(29 * DAY));
        let recent = signed_in(&auth);
        assert_eq!(auth.remove_expired_sessions().expect("sweep"), 0);
        clock.advance(Duration::from_secs(DAY));
        assert_eq!(auth.remove_expired_sessions().expect("sweep"), 2);
        assert!(stored(&store, &old).is_none());
        assert!(stored(&store, &revoked).is_none());
        assert!(auth.session(&recent).expect("read").is_some());
    }
}
