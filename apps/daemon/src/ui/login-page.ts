// The page a browser gets without a session (status 401): why, and a form for the control token,
// for when the banner's one-time URL was used or has expired. No script, styled by app.css.

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function loginPage(message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>distkitd: log in</title>
<link rel="icon" href="/ui/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/app.css">
</head>
<body class="login">
<main>
<h1>distkitd</h1>
<p role="alert">${escapeHtml(message)}</p>
<p>Open the one-time login URL that <code>distkitd run</code> printed when it started, or paste the control token
(the file <code>control.token</code> in the daemon's state folder).</p>
<form method="post" action="/ui/login">
<label for="token">Control token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`;
}
