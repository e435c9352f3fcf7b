using System.Buffers;
using System.Text;
using Akka.Actor;
using ActorMta.Configuration;
using ActorMta.Smtp;

namespace ActorMta.Inbound;

// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, the users file behind it, and the
// per-IP failure limit. Offered only over TLS unless auth.allow-cleartext; required before MAIL on
// submission listeners. RFC 3207: what AUTH established is forgotten on STARTTLS.
public sealed partial class InboundSession
{
    private enum SaslStep { None, PlainResponse, LoginUser, LoginPassword }

    /// <summary>The users file said yes or no (computed off the actor: PBKDF2 is slow on purpose).</summary>
    private sealed record AuthChecked(string Mechanism, string User, bool Accepted, Exception? Error);

    /// <summary>The failure delay is over: send the 535.</summary>
    private sealed record AuthFailureDue
    {
        public static readonly AuthFailureDue Instance = new();
    }

    private static readonly SmtpReply AuthSucceeded = new(235, "2.7.0", "Authentication succeeded");
    private static readonly SmtpReply AuthFailed = new(535, "5.7.8", "Incorrect authentication data");
    private static readonly SmtpReply AuthCancelled = new(501, "5.0.0", "Authentication cancelled");
    private static readonly SmtpReply AuthBadBase64 = new(501, "5.5.2", "Invalid base64 data");
    private static readonly SmtpReply AuthMalformed = new(501, "5.5.2", "Malformed authentication data");
    private static readonly SmtpReply AuthAlreadyDone = new(503, "5.5.1", "Already authenticated");
    private static readonly SmtpReply AuthNeedsTls = new(538, "5.7.11", "Encryption required for requested authentication mechanism");
    private static readonly SmtpReply AuthUnknownMechanism = new(504, "5.5.4", "Unrecognized authentication type");
    private static readonly SmtpReply AuthTemporaryFailure = new(454, "4.7.0", "Temporary authentication failure");
    private static readonly SmtpReply AuthBlocked = new(454, "4.7.0", "Too many failed authentication attempts from your address; try again later");
    private static readonly SmtpReply AuthRequired = new(530, "5.7.0", "Authentication required");
    private static readonly SmtpReply LoginUserChallenge = new(334, null, SaslLogin.UserPrompt);
    private static readonly SmtpReply LoginPasswordChallenge = new(334, null, SaslLogin.PasswordPrompt);

    private bool _authOffered;
    private SaslStep _saslStep;
    private string _saslUser = "";
    /// <summary>The authenticated user (Exim's <c>$authenticated_id</c>), null until a 235.</summary>
    private string? _authenticatedId;
    /// <summary>Lower-case mechanism that authenticated, the first half of <c>A=</c>.</summary>
    private string _authenticator = "";

    private AuthSettings AuthConfig => _context.Settings.Auth;

    /// <summary>Whether the connection is encrypted (after STARTTLS, or on a TLS-on-connect listener).</summary>
    private bool ChannelEncrypted => _tls is not null;

    /// <summary>AUTH may be offered to this client on this EHLO: configured, listed, and over TLS unless clear text is allowed.</summary>
    private bool AuthAvailable => _context.Auth is not null && AuthConfig.Mechanisms.Count > 0
                                  && AuthConfig.AdvertiseHosts.Matches(_clientAddress);

    /// <summary>EHLO: add <c>AUTH PLAIN LOGIN</c> when offered, and remember whether it was.</summary>
    private void AdvertiseAuth(EhloReplyBuilder reply)
    {
        _authOffered = AuthAvailable && (ChannelEncrypted || AuthConfig.AllowCleartext);
        if (_authOffered) reply.Add("AUTH " + string.Join(' ', AuthConfig.Mechanisms));
    }

    /// <summary>RFC 3207 section 4.2: nothing learned before STARTTLS survives it, authentication included.</summary>
    private void ForgetAuthentication()
    {
        _authOffered = false;
        _saslStep = SaslStep.None;
        _saslUser = "";
        _authenticatedId = null;
        _authenticator = "";
    }

    /// <summary>Submission listeners take no MAIL from an unauthenticated client (RFC 6409, 530 5.7.0).</summary>
    private bool RefuseUnauthenticatedMail()
    {
        if (_context.Kind != ListenerKind.Submission || _authenticatedId is not null) return false;
        Reply(AuthRequired);
        return true;
    }

    private void OnAuth(AuthCommand auth)
    {
        if (_authenticatedId is not null)
        {
            Reply(AuthAlreadyDone);
            return;
        }

        if (!_authOffered)
        {
            // Refused for want of TLS only: say so (RFC 4954 538); otherwise it was simply not offered.
            Reply(_extended && AuthAvailable && !ChannelEncrypted && !AuthConfig.AllowCleartext ? AuthNeedsTls : Replies.AuthNotAvailable);
            return;
        }

        if (_context.Auth!.Failures.IsBlocked(_clientAddress))
        {
            _context.MainLog.Write($"{auth.Mechanism.ToLowerInvariant()} authenticator refused for {ClientForAuthLog()}: too many failed attempts from this address");
            Reply(AuthBlocked);
            return;
        }

        if (!AuthConfig.Mechanisms.Contains(auth.Mechanism))
        {
            Reply(AuthUnknownMechanism);
            return;
        }

        _authenticator = auth.Mechanism.ToLowerInvariant();
        if (auth.Mechanism == "PLAIN")
        {
            if (auth.InitialResponse is null)
            {
                _saslStep = SaslStep.PlainResponse;
                // RFC 4954's continue-req is "334" SP [base64]: the space stays even with no challenge
                // (SmtpReply drops it from an empty last line).
                _output.Write("334 \r\n"u8);
            }
            else
            {
                OnPlainResponse(SaslResponse.ParseInitial(auth.InitialResponse));
            }

            return;
        }

        // LOGIN: an initial response is the user name (what Exim and most clients do with it).
        if (auth.InitialResponse is null)
        {
            _saslStep = SaslStep.LoginUser;
            Reply(LoginUserChallenge);
        }
        else
        {
            OnLoginUser(SaslResponse.ParseInitial(auth.InitialResponse));
        }
    }

    /// <summary>A line sent in answer to a 334: part of the exchange, never a command.</summary>
    private void OnSaslLine(ReadOnlySpan<byte> line)
    {
        var step = _saslStep;
        _saslStep = SaslStep.None;
        // Base64 is ASCII; anything else fails to decode and is answered 501.
        var response = SaslResponse.ParseLine(Encoding.Latin1.GetString(line));
        switch (step)
        {
            case SaslStep.PlainResponse: OnPlainResponse(response); break;
            case SaslStep.LoginUser: OnLoginUser(response); break;
            default: OnLoginPassword(response); break;
        }
    }

    /// <summary>False (and the 501 sent) when the response cancels or is not base64.</summary>
    private bool Usable(SaslResponse response)
    {
        if (response.Kind == SaslResponseKind.Data) return true;
        _saslStep = SaslStep.None;
        Reply(response.Kind == SaslResponseKind.Cancel ? AuthCancelled : AuthBadBase64);
        return false;
    }

    private void OnPlainResponse(SaslResponse response)
    {
        if (!Usable(response)) return;
        // An authorization identity other than the user itself would mean "act as someone else": not supported.
        if (!SaslPlain.TryDecode(response.Data, out string authorizationId, out string user, out string password)
            || (authorizationId.Length > 0 && authorizationId != user))
        {
            Reply(AuthMalformed);
            return;
        }

        Verify(user, password);
    }

    private void OnLoginUser(SaslResponse response)
    {
        if (!Usable(response)) return;
        if (!SaslLogin.TryDecodeText(response.Data, out _saslUser))
        {
            Reply(AuthMalformed);
            return;
        }

        _saslStep = SaslStep.LoginPassword;
        Reply(LoginPasswordChallenge);
    }

    private void OnLoginPassword(SaslResponse response)
    {
        if (!Usable(response)) return;
        if (!SaslLogin.TryDecodeText(response.Data, out string password))
        {
            Reply(AuthMalformed);
            return;
        }

        Verify(_saslUser, password);
    }

    /// <summary>Check the password off the actor; nothing the client pipelined is read until the answer is sent.</summary>
    private void Verify(string user, string password)
    {
        _mode = Mode.Busy;
        var users = _context.Auth!.Users;
        string mechanism = _authenticator;
        Task.Run(() => users.Verify(user, password)).PipeTo(Self,
            success: accepted => new AuthChecked(mechanism, user, accepted, null),
            failure: e => new AuthChecked(mechanism, user, false, e));
    }

    private void OnAuthChecked(AuthChecked checkedResult)
    {
        if (_mode == Mode.Closed) return;
        _saslUser = "";
        if (checkedResult.Accepted)
        {
            _authenticatedId = checkedResult.User;
            _mode = Mode.Command;
            Reply(AuthSucceeded);
            Pump();
            return;
        }

        string setId = PeerText.Escape(Encoding.UTF8.GetBytes(checkedResult.User));
        if (checkedResult.Error is not null)
        {
            _context.Logger.Error(checkedResult.Error, "password check failed for {User}", setId);
            _context.MainLog.Write($"{checkedResult.Mechanism} authenticator failed for {ClientForAuthLog()}: 454 Temporary authentication failure (set_id={setId})");
            _authenticator = "";
            _mode = Mode.Command;
            Reply(AuthTemporaryFailure);
            Pump();
            return;
        }

        _context.MainLog.Write($"{checkedResult.Mechanism} authenticator failed for {ClientForAuthLog()}: 535 Incorrect authentication data (set_id={setId})");
        _authenticator = "";
        if (_context.Auth!.Failures.RecordFailure(_clientAddress))
        {
            _context.MainLog.Write($"SMTP connection from {HostField()} closed: too many failed AUTH attempts from [{_clientText}] within {AuthConfig.FailureWindow}");
            _mode = Mode.Command;
            Reply(new SmtpReply(421, "4.7.0", $"{_hostname} Too many authentication failures - closing connection"));
            CloseAfterFlush();
            return;
        }

        if (AuthConfig.FailureDelay > TimeSpan.Zero)
        {
            // Stay Busy: the 535, and anything pipelined behind it, wait out the delay.
            Timers.StartSingleTimer(AuthFailureDue.Instance, AuthFailureDue.Instance, AuthConfig.FailureDelay);
            return;
        }

        OnAuthFailureDue();
    }

    private void OnAuthFailureDue()
    {
        if (_mode == Mode.Closed) return;
        _mode = Mode.Command;
        Reply(AuthFailed);
        Pump();
    }

    /// <summary>Exim's host text in authenticator lines: <c>(helo) [ip]:port</c>, without <c>H=</c>.</summary>
    private string ClientForAuthLog() => HostField()[2..];

    /// <summary><c>A=plain:user</c> on <c>&lt;=</c> lines (Exim's <c>A=&lt;authenticator&gt;:&lt;id&gt;</c>).</summary>
    private string AuthLogField() =>
        _authenticatedId is null ? "" : $" A={_authenticator}:{PeerText.Escape(Encoding.UTF8.GetBytes(_authenticatedId))}";

    /// <summary>The protocol names grow an "a" when the client authenticated: esmtpa, esmtpsa (RFC 3848).</summary>
    private string WithAuth(string protocol) =>
        _authenticatedId is null ? protocol : protocol + (char.IsUpper(protocol[^1]) ? "A" : "a");
}
