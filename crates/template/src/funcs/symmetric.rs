//! sprig's `encryptAES` / `decryptAES` (AES-256-CBC, key = password bytes zero-padded or
//! truncated to 32 bytes, PKCS#7 padding, random IV prepended, standard base64) and
//! `derivePassword` (the Master Password algorithm: scrypt N=32768 r=8 p=2 → HMAC-SHA256).

use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac as _;
use zeroize::Zeroizing;

use super::{FuncDef, P, arg_bytes, arg_str, f, m};
use crate::budget::cost;
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    f("encryptAES", &[P::Str, P::Str], None, |a| {
        encrypt_aes(arg_bytes(a, 0), arg_bytes(a, 1)).map(Value::from)
    }),
    f("decryptAES", &[P::Str, P::Str], None, |a| {
        decrypt_aes(arg_bytes(a, 0), arg_bytes(a, 1)).map(Value::from)
    }),
    // Go's parameter is uint32; templates pass int literals, which convert.
    m(
        "derivePassword",
        &[P::Int, P::Str, P::Str, P::Str, P::Str],
        None,
        |b, a| {
            b.charge(cost::SCRYPT)?;
            let counter = super::arg_int(a, 0);
            let counter = u32::try_from(counter)
                .map_err(|_| "derivePassword: counter must be a uint32".to_string())?;
            Ok(Value::from(derive_password(
                counter,
                &arg_str(a, 1),
                arg_bytes(a, 2),
                arg_bytes(a, 3),
                arg_bytes(a, 4),
            )))
        },
    ),
];

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
const BLOCK: usize = 16;

fn aes_key(password: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    key
}

/// sprig `encryptAES`.
pub(crate) fn encrypt_aes(password: &[u8], plaintext: &[u8]) -> Result<String, String> {
    if plaintext.is_empty() {
        return Ok(String::new());
    }
    let key = aes_key(password);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut out = vec![0u8; BLOCK];
    getrandom::fill(&mut out).map_err(|_| "encryptAES: no random data".to_string())?;
    let iv: [u8; BLOCK] = out[..BLOCK].try_into().map_err(|_| "iv".to_string())?;
    let mut content = Zeroizing::new(plaintext.to_vec());
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let enc = Aes256CbcEnc::new_from_slices(key.as_ref(), &iv)
        .map_err(|_| "encryptAES: bad key".to_string())?;
    let mut body = content.to_vec();
    let len = body.len();
    enc.encrypt_padded::<aes::cipher::block_padding::NoPadding>(&mut body, len)
        .map_err(|_| "encryptAES: encryption failed".to_string())?;
    out.extend_from_slice(&body);
    Ok(STANDARD.encode(out))
}

/// sprig `decryptAES`. Go panics on input shorter than a block or not a multiple of the
/// block size; that becomes an error here.
pub(crate) fn decrypt_aes(password: &[u8], crypt64: &[u8]) -> Result<Vec<u8>, String> {
    if crypt64.is_empty() {
        return Ok(Vec::new());
    }
    let key = aes_key(password);
    let crypt = STANDARD
        .decode(crypt64)
        .map_err(|_| "decryptAES: illegal base64 data".to_string())?;
    if crypt.len() < 2 * BLOCK || crypt.len() % BLOCK != 0 {
        return Err("decryptAES: ciphertext is not a whole number of AES blocks".to_string());
    }
    let (iv, body) = crypt.split_at(BLOCK);
    let iv: [u8; BLOCK] = iv.try_into().map_err(|_| "iv".to_string())?;
    let mut plain = body.to_vec();
    Aes256CbcDec::new_from_slices(key.as_ref(), &iv)
        .map_err(|_| "decryptAES: bad key".to_string())?
        .decrypt_padded::<aes::cipher::block_padding::NoPadding>(&mut plain)
        .map_err(|_| "decryptAES: decryption failed".to_string())?;
    // sprig strips as many bytes as the last byte says, without checking the padding.
    let pad = usize::from(plain[plain.len() - 1]);
    if pad > plain.len() {
        return Err("decryptAES: wrong key or corrupt ciphertext (bad padding)".to_string());
    }
    plain.truncate(plain.len() - pad);
    Ok(plain)
}

const SEED: &[u8] = b"com.lyndir.masterpassword";

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// sprig `derivePassword`; an unknown type yields sprig's message as the result.
pub(crate) fn derive_password(
    counter: u32,
    kind: &str,
    password: &[u8],
    user: &[u8],
    site: &[u8],
) -> String {
    let Some(temps) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user);
    let mut key = Zeroizing::new([0u8; 64]);
    let params = match scrypt::Params::new(15, 8, 2) {
        Ok(p) => p,
        Err(_) => return "failed to derive password: bad scrypt parameters".to_string(),
    };
    if scrypt::scrypt(password, &salt, &params, key.as_mut()).is_err() {
        return "failed to derive password: scrypt failed".to_string();
    }
    let mut msg = SEED.to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site);
    msg.extend_from_slice(&counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_ref()) else {
        return "failed to derive password: hmac".to_string();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let temp = temps[usize::from(seed[0]) % temps.len()].as_bytes();
    temp.iter()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(*c);
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_round_trip_and_sprig_ciphertext() {
        let c = encrypt_aes(b"secretkey", b"plaintext").unwrap();
        assert_eq!(
            decrypt_aes(b"secretkey", c.as_bytes()).unwrap(),
            b"plaintext"
        );
        // 16-byte IV + one block, base64
        assert_eq!(STANDARD.decode(&c).unwrap().len(), 32);
        // a block-aligned plaintext gets a whole padding block
        let c = encrypt_aes(b"k", &[7u8; 16]).unwrap();
        assert_eq!(STANDARD.decode(&c).unwrap().len(), 48);
        assert_eq!(decrypt_aes(b"k", c.as_bytes()).unwrap(), vec![7u8; 16]);
        assert_eq!(encrypt_aes(b"k", b"").unwrap(), "");
        assert!(decrypt_aes(b"k", b"AAAA").is_err());
    }

    #[test]
    fn derive_password_matches_sprig_test() {
        // sprig crypto_test.go TestDerivePassword:
        // derivePassword 1 "long" "password" "user" "example.com" → "ZedaFaxcZaso9*"
        assert_eq!(
            derive_password(1, "long", b"password", b"user", b"example.com"),
            "ZedaFaxcZaso9*"
        );
        assert_eq!(
            derive_password(2, "long", b"password", b"user", b"example.com"),
            "Fovi2@JifpTupx"
        );
        assert_eq!(
            derive_password(1, "pin", b"password", b"user", b"example.com"),
            "6685"
        );
        assert_eq!(
            derive_password(1, "nope", b"p", b"u", b"s"),
            "cannot find password template nope"
        );
    }
}
