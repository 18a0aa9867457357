//! The resource envelope against an independent JOSE implementation (josekit, on OpenSSL) and
//! against the Confidential Containers client's own types (kbs-types): each side opens what
//! the other sealed, and tampering with any member is caught.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use josekit::jwe::{ECDH_ES_A256KW, RSA_OAEP_256};
use scute_kbs::{encrypt, EcCurve, FlattenedJwe, RecipientKey, TeeKeyPair};
use serde_json::Value;

const SECRET: &[u8] = b"image decryption key \x00\x01\xff";

fn jwk_value(jwk: &josekit::jwk::Jwk) -> Value {
    serde_json::to_value(jwk.as_ref()).unwrap()
}

/// Each curve's key, made by josekit (OpenSSL), opens with josekit what we sealed; the `epk` is
/// on the recipient's curve with full-length coordinates, as the CoCo client requires.
#[test]
fn josekit_opens_ecdh_es_a256kw_on_every_curve() {
    use josekit::jwk::alg::ec::EcCurve as JoseCurve;
    for (jose, curve, len) in [
        (JoseCurve::P256, "P-256", 32),
        (JoseCurve::P384, "P-384", 48),
        (JoseCurve::P521, "P-521", 66),
    ] {
        let pair = ECDH_ES_A256KW.generate_ec_key_pair(jose).unwrap();
        let public = jwk_value(&pair.to_jwk_public_key());
        let recipient = RecipientKey::from_jwk(&public).unwrap();
        assert!(
            matches!(recipient, RecipientKey::Ec { curve: c, .. } if c.name() == curve),
            "{curve}"
        );
        let jwe = encrypt(&recipient, SECRET).unwrap();
        let text = serde_json::to_string(&jwe).unwrap();
        let decrypter = ECDH_ES_A256KW
            .decrypter_from_jwk(&pair.to_jwk_key_pair())
            .unwrap();
        let (plain, header) = josekit::jwe::deserialize_json(&text, &decrypter).unwrap();
        assert_eq!(plain, SECRET, "{curve}");
        assert_eq!(header.algorithm(), Some("ECDH-ES+A256KW"));
        assert_eq!(header.content_encryption(), Some("A256GCM"));
        let protected: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&jwe.protected).unwrap()).unwrap();
        let epk = &protected["epk"];
        assert_eq!(epk["crv"], curve);
        assert_eq!(epk["kty"], "EC");
        for c in ["x", "y"] {
            let bytes = URL_SAFE_NO_PAD.decode(epk[c].as_str().unwrap()).unwrap();
            assert_eq!(bytes.len(), len, "{curve} epk.{c}");
        }
    }
}

/// Our own guest keys on P-384 and P-521: josekit seals to them, and they open both josekit's
/// envelope and ours.
#[test]
fn p384_and_p521_guest_keys_open_their_jwe() {
    for curve in [EcCurve::P384, EcCurve::P521] {
        let guest = TeeKeyPair::generate_on(curve).unwrap();
        assert_eq!(guest.public_jwk()["crv"], curve.name());
        let jwe = encrypt(
            &RecipientKey::from_jwk(&guest.public_jwk()).unwrap(),
            SECRET,
        )
        .unwrap();
        assert_eq!(guest.decrypt(&jwe).unwrap(), SECRET, "{curve:?}");

        let jwk = josekit::jwk::Jwk::from_bytes(guest.public_jwk().to_string()).unwrap();
        let encrypter = ECDH_ES_A256KW.encrypter_from_jwk(&jwk).unwrap();
        let mut header = josekit::jwe::JweHeaderSet::new();
        header.set_content_encryption("A256GCM", true);
        let text =
            josekit::jwe::serialize_flattened_json(SECRET, Some(&header), None, None, &encrypter)
                .unwrap();
        let theirs: FlattenedJwe = serde_json::from_str(&text).unwrap();
        assert_eq!(guest.decrypt(&theirs).unwrap(), SECRET, "{curve:?}");

        // A key on another curve opens nothing.
        let other = TeeKeyPair::generate_on(EcCurve::P256).unwrap();
        assert!(other.decrypt(&jwe).is_err());
    }
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
    let p521 =
        RecipientKey::from_jwk(&TeeKeyPair::generate_on(EcCurve::P521).unwrap().public_jwk())
            .unwrap();
    for key in [recipient, p521, rsa] {
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
    for crv in ["secp256k1", "P-192", "X25519"] {
        let mut jwk = guest.public_jwk();
        jwk["crv"] = crv.into();
        let err = RecipientKey::from_jwk(&jwk).unwrap_err().to_string();
        assert!(err.contains("P-256, P-384 or P-521"), "{err}");
    }
    // A P-256 point under the P-384 name: the coordinates are the wrong size.
    let mut jwk = guest.public_jwk();
    jwk["crv"] = "P-384".into();
    assert!(RecipientKey::from_jwk(&jwk).is_err());
    // A P-521 key with its coordinates stripped of the leading zero byte is not full length.
    let p521 = TeeKeyPair::generate_on(EcCurve::P521).unwrap().public_jwk();
    let mut short = p521.clone();
    let x = URL_SAFE_NO_PAD.decode(p521["x"].as_str().unwrap()).unwrap();
    short["x"] = URL_SAFE_NO_PAD.encode(&x[1..]).into();
    assert!(RecipientKey::from_jwk(&short).is_err());
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

/// Points a hostile guest might bind in its evidence to make the broker misbehave at release:
/// the all-zero "point at infinity" encoding, coordinates at or above the field prime (on
/// P-521 a genuine point's x + p still fits the 66 bytes), and a coordinate of 0xFF bytes.
/// Each is a typed refusal when the key is read, never a panic, never a key to encrypt to.
#[test]
fn degenerate_points_are_refused_on_every_curve() {
    use rsa::BigUint;
    for curve in EcCurve::ALL {
        let n = curve.coordinate_len();
        let genuine = TeeKeyPair::generate_on(curve).unwrap().public_jwk();
        assert!(RecipientKey::from_jwk(&genuine).is_ok());
        let with = |x: &[u8], y: &[u8]| {
            let mut jwk = genuine.clone();
            jwk["x"] = URL_SAFE_NO_PAD.encode(x).into();
            jwk["y"] = URL_SAFE_NO_PAD.encode(y).into();
            RecipientKey::from_jwk(&jwk)
        };
        let zero = vec![0u8; n];
        assert!(with(&zero, &zero).is_err(), "{} (0, 0)", curve.name());
        assert!(with(&vec![0xFF; n], &vec![0xFF; n]).is_err());
        // The field primes (FIPS 186-4 D.1.2).
        let p = match curve {
            EcCurve::P256 => BigUint::parse_bytes(
                b"ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
                16,
            ),
            EcCurve::P384 => BigUint::parse_bytes(
                b"fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
                16,
            ),
            EcCurve::P521 => Some((BigUint::from(1u8) << 521) - 1u8),
        }
        .unwrap();
        let field = |v: &BigUint| -> Option<Vec<u8>> {
            let bytes = v.to_bytes_be();
            (bytes.len() <= n).then(|| [vec![0; n - bytes.len()], bytes].concat())
        };
        let coordinate = |name: &str| {
            BigUint::from_bytes_be(
                &URL_SAFE_NO_PAD
                    .decode(genuine[name].as_str().unwrap())
                    .unwrap(),
            )
        };
        let (x, y) = (coordinate("x"), coordinate("y"));
        assert!(with(&field(&p).unwrap(), &field(&y).unwrap()).is_err());
        // x + p and y + p name the same point, but not in the one encoding RFC 7518 allows.
        for (xx, yy) in [(&x + &p, y.clone()), (x.clone(), &y + &p)] {
            if let (Some(xx), Some(yy)) = (field(&xx), field(&yy)) {
                assert!(with(&xx, &yy).is_err(), "{} non-reduced", curve.name());
            }
        }
    }
}
