//! Identity without an external provider: users, invites, sessions, roles.
//!
//! - An **invite** (a random token, stored only as its SHA-256) grants a role
//!   in a workshop (`host` or `participant`), or `admin` for the one-time
//!   sign-in link of a fresh server. It has an expiry, a use limit, and can
//!   be revoked (which also revokes the sessions made from it).
//! - Accepting an invite with a display name makes a **user** and a
//!   **session**: another random token, stored only as its hash, sent to the
//!   browser as an HttpOnly cookie and usable as `?token=` or a bearer
//!   token by other clients.
//! - A user's **role** in a workshop: `host` (admins are hosts everywhere),
//!   `participant`, or, without a membership, `public` (open workshops) or
//!   nothing (invite-only workshops, which then do not exist for them).

use std::sync::{Arc, Mutex};

use docsync::DocumentId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub invite_id: Option<String>,
    pub revoked: bool,
    pub created_at: u64,
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
    #[error("a display name of 1 to 80 characters is required")]
    BadName,
    #[error("not signed in")]
    NoSession,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("corrupt record: {0}")]
    Record(#[from] serde_json::Error),
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
    /// Serialises read-modify-write of invites (their use counts).
    invites: Arc<Mutex<()>>,
    /// Serialises check-then-bind of actor ids.
    actors: Arc<Mutex<()>>,
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
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            invites: Arc::default(),
            actors: Arc::default(),
        }
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
        let invite = Invite {
            id: new_id(),
            workshop_id: workshop.map(ToString::to_string),
            grant,
            expires_at: expires_in_seconds.map(|s| now().saturating_add(s)),
            max_uses,
            uses: 0,
            revoked: false,
            created_at: now(),
        };
        put(self.store.as_ref(), Table::Invites, &hash(&token), &invite)?;
        Ok((invite, token))
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
        let name = name.trim();
        if existing.is_none() && (name.is_empty() || name.chars().count() > 80) {
            return Err(AuthError::BadName);
        }
        let key = hash(token);
        let _guard = self
            .invites
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut invite: Invite =
            get(self.store.as_ref(), Table::Invites, &key)?.ok_or(AuthError::InvalidInvite)?;
        let expired = invite.expires_at.is_some_and(|t| now() >= t);
        let used_up = invite.max_uses.is_some_and(|m| invite.uses >= m);
        if invite.revoked || expired || used_up {
            return Err(AuthError::InvalidInvite);
        }
        invite.uses += 1;
        put(self.store.as_ref(), Table::Invites, &key, &invite)?;
        let mut user = match existing {
            Some(u) => u.clone(),
            None => User {
                id: new_id(),
                name: name.to_owned(),
                admin: false,
                created_at: now(),
            },
        };
        match (invite.grant, &invite.workshop_id) {
            (Grant::Admin, _) => user.admin = true,
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
        let session = Session {
            id: new_id(),
            user_id: user.id.clone(),
            invite_id,
            revoked: false,
            created_at: now(),
        };
        put(
            self.store.as_ref(),
            Table::Sessions,
            &hash(&token),
            &session,
        )?;
        Ok((token, session))
    }

    /// The live session and user behind a token.
    pub fn session(&self, token: &str) -> Result<Option<(Session, User)>, AuthError> {
        let Some(session): Option<Session> =
            get(self.store.as_ref(), Table::Sessions, &hash(token))?
        else {
            return Ok(None);
        };
        if session.revoked {
            return Ok(None);
        }
        let user: Option<User> = get(
            self.store.as_ref(),
            Table::Users,
            session.user_id.as_bytes(),
        )?;
        Ok(user.map(|u| (session, u)))
    }

    /// Whether the session with this id exists and is not revoked.
    pub fn session_by_id_valid(&self, id: &str) -> Result<bool, AuthError> {
        for (_, v) in self.store.scan(Table::Sessions, &[])? {
            let session: Session = serde_json::from_slice(&v)?;
            if session.id == id {
                return Ok(!session.revoked);
            }
        }
        Ok(false)
    }

    /// Revokes a session by token (sign out).
    pub fn end_session(&self, token: &str) -> Result<Option<Session>, AuthError> {
        let key = hash(token);
        let Some(mut session): Option<Session> = get(self.store.as_ref(), Table::Sessions, &key)?
        else {
            return Ok(None);
        };
        session.revoked = true;
        put(self.store.as_ref(), Table::Sessions, &key, &session)?;
        Ok(Some(session))
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
        Ok(self
            .store
            .get(Table::Actors, actor)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Binds an actor id to a user unless it is bound already (durable with
    /// the next flush). Returns whether the actor is now the user's.
    pub fn bind_actor(&self, actor: &[u8], user_id: &str) -> Result<bool, AuthError> {
        let _guard = self
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match self.actor_owner(actor)? {
            Some(owner) => Ok(owner == user_id),
            None => {
                self.store.put(Table::Actors, actor, user_id.as_bytes())?;
                Ok(true)
            }
        }
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
            if self.actor_owner(&actor)?.is_none() {
                break actor;
            }
        };
        self.store.put(Table::Actors, &actor, user_id.as_bytes())?;
        self.store
            .put(Table::EditActors, user_id.as_bytes(), &actor)?;
        Ok(actor)
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
