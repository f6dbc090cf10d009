//! Development key set and tokens for the local stack.
//!
//! ```text
//! slrt-token keygen --dir .state/auth              # signing-key.pem + jwks.json
//! slrt-token mint --dir .state/auth --subject fo-1 --role desk_operator --region 33.75.01
//! ```
//!
//! A deployment never runs this: its tokens come from the regency's identity provider and
//! the services read only that provider's public key set.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use slrt_auth::dev::{DevKeys, Minter, TokenClaims, write_private};

#[derive(Parser)]
#[command(
    name = "slrt-token",
    about = "Development key set and bearer tokens for the local stack"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a new Ed25519 signing key (signing-key.pem, readable by the owner only), its
    /// public key set (jwks.json) and a NIK token key (pii-key.hex, owner only) into DIR; an
    /// existing key set is kept unless --force.
    Keygen {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "slrt-dev-1")]
        kid: String,
        #[arg(long)]
        force: bool,
    },
    /// Writes a development certificate authority (ca.pem) and, signed by it, a certificate
    /// and key (NAME.pem, NAME-key.pem, owner only) for each --name: the services and the
    /// agencies' systems, for mutual TLS on the gRPC ports. The authority's own key is not
    /// kept, so the set is made at once; an existing set is kept unless --force.
    Certs {
        #[arg(long)]
        dir: PathBuf,
        /// A service or system to issue a certificate for (repeat for each).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        #[arg(long)]
        force: bool,
    },
    /// Prints a token signed with DIR/signing-key.pem.
    Mint {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "slrt-dev-1")]
        kid: String,
        #[arg(long, env = "SLRT_AUTH_ISSUER", default_value = "https://sso.slrt.local/realms/slrt")]
        issuer: String,
        #[arg(long, env = "SLRT_AUTH_AUDIENCE", default_value = "slrt-api")]
        audience: String,
        #[arg(long)]
        subject: String,
        #[arg(long, default_value = "")]
        name: String,
        /// desk_operator, back_office, coordinator, supervisor, opd_officer, auditor, administrator
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Kemendagri code of the person's area, dotted.
        #[arg(long)]
        region: Option<String>,
        /// Agency code of an OPD officer.
        #[arg(long)]
        opd: Option<String>,
        #[arg(long, default_value_t = 480)]
        ttl_minutes: i64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("slrt-token: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Keygen { dir, kid, force } => {
            let key_path = dir.join("signing-key.pem");
            if key_path.exists() && !force {
                println!("kept the existing key set in {}", dir.display());
                return Ok(());
            }
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let keys = DevKeys::generate(&kid)?;
            write_private(&key_path, &keys.signing_key_pem)?;
            let jwks_path = dir.join("jwks.json");
            std::fs::write(&jwks_path, &keys.jwks_json).map_err(|e| format!("{}: {e}", jwks_path.display()))?;
            let pii_path = dir.join("pii-key.hex");
            write_private(&pii_path, &slrt_auth::dev::pii_key_hex()?)?;
            println!(
                "wrote {}, {} and {}",
                key_path.display(),
                jwks_path.display(),
                pii_path.display()
            );
            Ok(())
        }
        Command::Certs { dir, names, force } => {
            let authority_path = dir.join("ca.pem");
            if authority_path.exists() && !force {
                println!("kept the existing certificates in {}", dir.display());
                return Ok(());
            }
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for name in &names {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(format!("--name {name:?}: letters, digits and '-' only"));
                }
            }
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            slrt_auth::dev::DevAuthority::generate("SLRT development CA")?.write_set(&dir, &names)?;
            println!(
                "wrote {} and certificates for {}",
                authority_path.display(),
                names.join(", ")
            );
            Ok(())
        }
        Command::Mint {
            dir,
            kid,
            issuer,
            audience,
            subject,
            name,
            roles,
            region,
            opd,
            ttl_minutes,
        } => {
            let key_path = dir.join("signing-key.pem");
            let pem = std::fs::read_to_string(&key_path).map_err(|e| {
                format!(
                    "{}: {e} (run `slrt-token keygen --dir {}` first)",
                    key_path.display(),
                    dir.display()
                )
            })?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs() as i64;
            let claims = TokenClaims {
                iss: issuer,
                aud: audience,
                sub: subject,
                name,
                roles,
                region,
                opd,
                iat: now,
                nbf: now,
                exp: now + ttl_minutes * 60,
            };
            println!("{}", Minter::from_pem(&kid, &pem)?.mint(&claims)?);
            Ok(())
        }
    }
}
