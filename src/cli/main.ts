// Placeholder replaced as the CLI lands.
console.log('tonk-p2p')
