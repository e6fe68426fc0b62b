// Package keyring holds the anonymizer's pseudonymization keys and computes keyed
// pseudonyms from them.
//
// # Pseudonyms
//
// A pseudonym is HMAC-SHA256 under one key over a domain-separated message built
// from (kind, purpose, id), or (kind, purpose, id, tenant) for an id that is
// unique only within its tenant: a fixed version tag followed by each part,
// length-prefixed, so that no two different tuples share a message. The kind
// (user, anonymous, tenant, session) keeps the pseudonym of a user id "42" apart
// from that of a tenant id "42"; the tenant keeps user 42 of two tenants apart
// (the policy's identity.user_ids says whether ids are tenant-scoped; global ids
// and tenants use the three-part message, as before tenants were part of it); the
// purpose keeps the datasets of two purposes unlinkable. The
// MAC is truncated to 128 bits, written in lowercase unpadded base32 (26
// characters), and prefixed with the key id and a colon:
//
//	k2:mfrggzdfmztwq2lknnwg23tpoa
//
// # Keyring
//
// A keyring has one active key, which pseudonymizes new events, and any number of
// retained keys, which are only used to compute the pseudonyms a subject had in
// older data, so that an erasure can name every pseudonym under which the subject's
// rows may still exist. Every key is at least 32 random bytes. Keys come from a file
// (KEYRING_FILE) or from the environment (PSEUDONYM_KEYS), never from code; the
// embedded demo generates an ephemeral random key instead. Key material is never
// logged: Key and Keyring format themselves, in every verb, as their key ids only.
//
// File format: either JSON
//
//	{"active": "k2", "keys": {"k2": "<base64>", "k1": "<base64>"}}
//
// or lines "id:base64" where the first key is the active one; blank lines and
// lines starting with # are ignored. The environment form is the same list with
// commas: PSEUDONYM_KEYS="k2:<base64>,k1:<base64>".
//
// # Rotation
//
//  1. Generate a new key (e.g. `head -c 32 /dev/urandom | base64`) with a new id
//     (k3) and put it first, keeping the previous active key (k2) as retained:
//     "k3:...,k2:...". Restart the anonymizers. New curated events carry k3
//     pseudonyms and cannot be linked to older k2 rows; snapshots built from now on
//     are unlinkable to older ones.
//  2. Keep k2 as long as curated data pseudonymized under it may exist: the
//     retention of events.curated plus that of the dataset snapshots built from
//     it. Until then every Erasure carries the subject's pseudonyms under k3 and
//     k2, so the sink can find the subject's rows in old and new data.
//  3. After that retention has passed, drop k2 from the keyring and restart.
//
// Never reuse an id for different key material: the id in front of a pseudonym is
// what tells which key made it.
package keyring
