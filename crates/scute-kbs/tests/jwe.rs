//! The resource envelope against an independent JOSE implementation (josekit, on OpenSSL) and
//! against the Confidential Containers client's own types (kbs-types): each side opens what
//! the other sealed, and tampering with any member is caught.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use josekit::jwe::{ECDH_ES_A256KW, RSA_OAEP_256};
use josekit::jwk::alg::ec::EcCurve;
use scute_kbs::{encrypt, FlattenedJwe, RecipientKey, TeeKeyPair};
use serde_json::Value;

const SECRET: &[u8] = b"image decryption key \x00\x01\xff";

fn jwk_value(jwk: &josekit::jwk::Jwk) -> Value {
    serde_json::to_value(jwk.as_ref()).unwrap()
}

#[test]
fn josekit_opens_ecdh_es_a256kw() {
    let pair = ECDH_ES_A256KW.generate_ec_key_pair(EcCurve::P256).unwrap();
    let public = jwk_value(&pair.to_jwk_public_key());
    let jwe = encrypt(&RecipientKey::from_jwk(&public).unwrap(), SECRET).unwrap();
    let text = serde_json::to_string(&jwe).unwrap();
    let decrypter = ECDH_ES_A256KW
        .decrypter_from_jwk(&pair.to_jwk_key_pair())
        .unwrap();
    let (plain, header) = josekit::jwe::deserialize_json(&text, &decrypter).unwrap();
    assert_eq!(plain, SECRET);
    assert_eq!(header.algorithm(), Some("ECDH-ES+A256KW"));
    assert_eq!(header.content_encryption(), Some("A256GCM"));
}

#[test]
fn josekit_opens_rsa_oaep_256() {
    let pair = RSA_OAEP_256.generate_key_pair(2048).unwrap();
    let public = jwk_value(&pair.to_jwk_public_key());
    let jwe = encrypt(&RecipientKey::from_jwk(&public).unwrap(), SECRET).unwrap();
    let text = serde_json::to_string(&jwe).unwrap();
    let decrypter = RSA_OAEP_256
        .decrypter_from_jwk(&pair.to_jwk_key_pair())
        .unwrap();
    let (plain, header) = josekit::jwe::deserialize_json(&text, &decrypter).unwrap();
    assert_eq!(plain, SECRET);
    assert_eq!(header.algorithm(), Some("RSA-OAEP-256"));
}

#[test]
fn our_guest_key_opens_what_josekit_seals() {
    let guest = TeeKeyPair::generate().unwrap();
    let jwk = josekit::jwk::Jwk::from_bytes(guest.public_jwk().to_string()).unwrap();
    let encrypter = ECDH_ES_A256KW.encrypter_from_jwk(&jwk).unwrap();
    let mut header = josekit::jwe::JweHeaderSet::new();
    header.set_content_encryption("A256GCM", true);
    let text =
        josekit::jwe::serialize_flattened_json(SECRET, Some(&header), None, None, &encrypter)
            .unwrap();
    let jwe: FlattenedJwe = serde_json::from_str(&text).unwrap();
    assert_eq!(guest.decrypt(&jwe).unwrap(), SECRET);
}

#[test]
fn the_client_recomputes_the_same_aad() {
    // guest-components decrypts with AAD = kbs_types::ProtectedHeader::generate_aad() of its
    // own parse of our answer, ignoring the protected member's bytes: they must coincide.
    let guest = TeeKeyPair::generate().unwrap();
    let recipient = RecipientKey::from_jwk(&guest.public_jwk()).unwrap();
    let pair = RSA_OAEP_256.generate_key_pair(2048).unwrap();
    let rsa = RecipientKey::from_jwk(&jwk_value(&pair.to_jwk_public_key())).unwrap();
    for key in [recipient, rsa] {
        let jwe = encrypt(&key, SECRET).unwrap();
        let response: kbs_types::Response =
            serde_json::from_value(serde_json::to_value(&jwe).unwrap()).unwrap();
        assert_eq!(
            response.protected.generate_aad().unwrap(),
            jwe.protected.as_bytes()
        );
        assert_eq!(response.aad, None);
        assert_eq!(response.protected.enc, "A256GCM");
    }
}

#[test]
fn the_guest_opens_its_own_and_detects_tampering() {
    let guest = TeeKeyPair::generate().unwrap();
    let recipient = RecipientKey::from_jwk(&guest.public_jwk()).unwrap();
    let jwe = encrypt(&recipient, SECRET).unwrap();
    assert_eq!(guest.decrypt(&jwe).unwrap(), SECRET);

    let flip = |text: &str| {
        let mut bytes = URL_SAFE_NO_PAD.decode(text).unwrap();
        bytes[0] ^= 1;
        URL_SAFE_NO_PAD.encode(bytes)
    };
    let mut tampered = [jwe.clone(), jwe.clone(), jwe.clone(), jwe.clone()];
    tampered[0].ciphertext = flip(&jwe.ciphertext);
    tampered[1].tag = flip(&jwe.tag);
    tampered[2].iv = flip(&jwe.iv);
    tampered[3].encrypted_key = flip(&jwe.encrypted_key);
    for bad in &tampered {
        assert!(guest.decrypt(bad).is_err());
    }
    // A re-serialised protected header (same meaning, other bytes) changes the AAD.
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&jwe.protected).unwrap()).unwrap();
    let mut reordered = jwe.clone();
    reordered.protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec_pretty(&header).unwrap());
    assert!(guest.decrypt(&reordered).is_err());
    // Another guest's key opens nothing.
    assert!(TeeKeyPair::generate().unwrap().decrypt(&jwe).is_err());
}

#[test]
fn keys_that_cannot_receive_are_refused() {
    let guest = TeeKeyPair::generate().unwrap();
    let mut jwk = guest.public_jwk();
    jwk["crv"] = "P-384".into();
    assert!(RecipientKey::from_jwk(&jwk).is_err());
    let mut off_curve = guest.public_jwk();
    off_curve["y"] = URL_SAFE_NO_PAD.encode([7u8; 32]).into();
    assert!(RecipientKey::from_jwk(&off_curve).is_err());
    // A 1024-bit modulus (any odd number of that size: the size alone refuses it).
    let mut n = [0xC5u8; 128];
    n[127] |= 1;
    let small = serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"});
    assert!(RecipientKey::from_jwk(&small).is_err());
    assert!(RecipientKey::from_jwk(&serde_json::json!({"kty": "oct", "k": "AA"})).is_err());
    assert!(RecipientKey::from_jwk(&serde_json::json!("not a jwk")).is_err());
}
