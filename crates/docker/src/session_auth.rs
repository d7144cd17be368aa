//! The Auth service of dorun's own BuildKit session: the builder asks it for the credentials
//! of a registry it pulls from (a parent in `FROM`, a `cache_from` image), as bollard's session
//! does for builds without secrets. Only `Credentials` is served: BuildKit falls back to it when
//! `FetchToken` is unimplemented, and does the token dance with the registry itself.

use bollard::moby::filesync::v1::auth_server::Auth;
use bollard::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};
use tonic::{Request, Response, Status};

use crate::credentials::Credentials;

/// The credentials of one registry host; every other host is anonymous.
pub(crate) struct RegistryAuth(pub(crate) Option<(String, Credentials)>);

impl RegistryAuth {
    fn for_host(&self, host: &str) -> CredentialsResponse {
        match &self.0 {
            Some((known, c)) if known == host => CredentialsResponse {
                username: c.username.clone(),
                secret: c.password.clone(),
            },
            // Empty: anonymous, as the docker CLI answers for a registry it has no login for.
            _ => CredentialsResponse::default(),
        }
    }
}

#[tonic::async_trait]
impl Auth for RegistryAuth {
    async fn credentials(
        &self,
        request: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        Ok(Response::new(self.for_host(&request.get_ref().host)))
    }

    async fn fetch_token(
        &self,
        _request: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("not served: ask Credentials"))
    }

    async fn get_token_authority(
        &self,
        _request: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("client-side authentication disabled"))
    }

    async fn verify_token_authority(
        &self,
        _request: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("client-side authentication disabled"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_known_host_gets_the_credentials() {
        let auth = RegistryAuth(Some((
            "127.0.0.1:5000".into(),
            Credentials {
                username: "u".into(),
                password: "p".into(),
            },
        )));
        let known = auth.for_host("127.0.0.1:5000");
        assert_eq!((known.username.as_str(), known.secret.as_str()), ("u", "p"));
        assert_eq!(auth.for_host("other:5000"), CredentialsResponse::default());
        assert_eq!(
            RegistryAuth(None).for_host("127.0.0.1:5000"),
            CredentialsResponse::default()
        );
    }
}
