//! Operator tasks on accounts, shared by `pushguard account create` and the demo
//! account of `pushguard serve`. The same code runs against moto and real AWS.

use shared::{
    ApiError, Mode,
    account::{Account, ApiKey, KeySpec},
    auth::Scope,
    ids::ApiKeyId,
    keyring::Keyring,
    secrets::ApiKeySecret,
    store::{Db, accounts, api_keys},
    validate::is_valid_email,
};

/// A new account and its first keys, shown once.
pub struct CreatedAccount {
    pub account: Account,
    pub live_key: ApiKeySecret,
    pub test_key: ApiKeySecret,
}

fn full_access(name: &str) -> KeySpec {
    KeySpec {
        name: name.to_string(),
        scopes: vec![Scope::All],
        require_signed: false,
    }
}

/// Creates an account with a live and a test key (all scopes). `test_key` fixes the
/// test key's value (the demo account's `PUSHGUARD_DEMO_API_KEY`).
pub async fn create(
    db: &Db,
    keyring: &Keyring,
    email: &str,
    test_key: Option<ApiKeySecret>,
) -> Result<CreatedAccount, ApiError> {
    let email = email.trim();
    if !is_valid_email(email) {
        return Err(ApiError::invalid(format!(
            "Email {email:?} is not a valid address"
        )));
    }
    let account = Account::new(email, keyring).await?;
    let (live, live_key) =
        ApiKey::generate(&account.id, Mode::Live, full_access("Default live key"));
    let test_key = test_key.unwrap_or_else(|| ApiKeySecret::generate(Mode::Test));
    let test = ApiKey::for_secret(
        &account.id,
        ApiKeyId::new(),
        &test_key,
        full_access("Default test key"),
    );
    accounts::create(db, &account, &[live, test]).await?;
    Ok(CreatedAccount {
        account,
        live_key,
        test_key,
    })
}

/// A new live and a new test key (all scopes) for an existing, open account: how the
/// owner of a child account, made with none by its parent, gets keys of its own.
pub async fn new_keys(db: &Db, account_id: &str) -> Result<(ApiKeySecret, ApiKeySecret), ApiError> {
    let id = shared::ids::AccountId::parse(account_id)
        .map_err(|_| ApiError::invalid(format!("{account_id:?} is not an account id")))?;
    let account = accounts::get(db, &id)
        .await?
        .filter(|account| account.closed_at.is_none())
        .ok_or(ApiError::NotFound("Account"))?;
    let (live, live_key) = ApiKey::generate(&account.id, Mode::Live, full_access("Live key"));
    let (test, test_key) = ApiKey::generate(&account.id, Mode::Test, full_access("Test key"));
    api_keys::create(db, &live).await?;
    api_keys::create(db, &test).await?;
    Ok((live_key, test_key))
}

/// Makes sure the demo account exists and returns a test key for it: `fixed_key` if
/// given (registered if new), else a fresh key, since stored keys cannot be shown again.
pub async fn ensure_demo(
    db: &Db,
    keyring: &Keyring,
    email: &str,
    fixed_key: Option<&str>,
) -> Result<ApiKeySecret, ApiError> {
    let fixed = fixed_key
        .map(|text| {
            ApiKeySecret::parse(text)
                .filter(|k| k.mode() == Mode::Test)
                .ok_or_else(|| ApiError::invalid("PUSHGUARD_DEMO_API_KEY must look like pg_test_ followed by 16 to 128 letters or digits"))
        })
        .transpose()?;
    let Some(account) = accounts::find_by_email(db, email).await? else {
        return Ok(create(db, keyring, email, fixed).await?.test_key);
    };
    let key = fixed.unwrap_or_else(|| ApiKeySecret::generate(Mode::Test));
    match api_keys::find_by_hash(db, &key.hash()).await? {
        Some(existing) if existing.account_id == account.id => Ok(key),
        Some(_) => Err(ApiError::Conflict(
            "That demo key belongs to another account".into(),
        )),
        None => {
            let record = ApiKey::for_secret(
                &account.id,
                ApiKeyId::new(),
                &key,
                full_access("Demo key (pushguard serve)"),
            );
            api_keys::create(db, &record).await?;
            Ok(key)
        }
    }
}
