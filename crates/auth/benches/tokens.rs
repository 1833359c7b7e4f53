//! The per-request cost of authentication: verifying an access token (every authenticated
//! request), issuing one (login, refresh), and the argon2id verification that dominates a login.
//! `cargo bench -p whistle-auth --bench tokens`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whistle_auth::Principal;
use whistle_auth::password::{self, Password};
use whistle_auth::token::{KeyRing, SigningKey};
use whistle_domain::ids::{CommunityId, UserId};
use whistle_domain::jurisdiction::{Area, Jurisdiction};
use whistle_domain::people::Role;

fn bench(c: &mut Criterion) {
    let ring = KeyRing::new(
        &SigningKey::new("bench", vec![7; 32]).expect("key"),
        &[],
        "whistle",
        "whistle-api",
    );
    let principal = Principal {
        user_id: UserId::new(42).expect("id"),
        role: Role::Officer,
        jurisdiction: Jurisdiction::for_role(
            Role::Officer,
            [1, 2, 3].map(|c| Area::Community(CommunityId::new(c).expect("id"))),
        )
        .expect("jurisdiction"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let token = ring.issue(&principal, now, 900).expect("token").token;
    c.bench_function("verify_access_token", |b| {
        b.iter(|| ring.verify(black_box(&token)).expect("valid"))
    });
    c.bench_function("issue_access_token", |b| {
        b.iter(|| ring.issue(black_box(&principal), now, 900).expect("issued"))
    });
    let pw = Password::new("wenchang-2026", &[]).expect("password");
    let hash = password::hash(&pw).expect("hash");
    let mut group = c.benchmark_group("login");
    group.sample_size(20);
    group.bench_function("argon2id_verify", |b| {
        b.iter(|| assert!(password::verify(black_box(&pw), &hash)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
