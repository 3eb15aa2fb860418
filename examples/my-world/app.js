// My World: a shared map of places people add and vote on.
// Data lives in one Automerge document at PLACES_PATH under the bundle's root directory:
//   { places: { [id]: { name, note, x, y, addedBy, addedAt, votes: { [voterId]: true } } } }
// Votes are a map keyed by voter so concurrent votes from different peers merge instead of clobbering
// a counter. The Tonk runtime (the VS Code preview, or any host implementing docs/injected-api.md)
// provides `window.tonk` with a path API over automerge-repo documents that sync peer to peer.
;(function () {
  'use strict'
  var PLACES_PATH = '/my-world/places'
  var picked = null
  var tonk = null
  var latest = { places: {} }

  function $(id) { return document.getElementById(id) }

  function setStatus(text, online) {
    var el = $('status')
    el.textContent = text
    el.className = online ? 'status online' : 'status'
  }

  function newId() {
    var bytes = new Uint8Array(8)
    crypto.getRandomValues(bytes)
    return Array.prototype.map.call(bytes, function (b) { return b.toString(16).padStart(2, '0') }).join('')
  }

  function voteCount(place) { return Object.keys(place.votes || {}).length }

  function sortedPlaces(doc) {
    var places = (doc && doc.places) || {}
    return Object.keys(places).map(function (id) { return Object.assign({ id: id }, places[id]) })
      .sort(function (a, b) { return voteCount(b) - voteCount(a) || a.addedAt - b.addedAt || (a.id < b.id ? -1 : 1) })
  }

  function drawGrid() {
    var grid = $('grid')
    for (var x = 30; x < 360; x += 30) grid.appendChild(svg('line', { x1: x, y1: 0, x2: x, y2: 180, class: 'grid-line' }))
    for (var y = 30; y < 180; y += 30) grid.appendChild(svg('line', { x1: 0, y1: y, x2: 360, y2: y, class: 'grid-line' }))
  }

  function svg(tag, attrs) {
    var el = document.createElementNS('http://www.w3.org/2000/svg', tag)
    for (var k in attrs) el.setAttribute(k, attrs[k])
    return el
  }

  function render(doc) {
    latest = doc || { places: {} }
    var list = sortedPlaces(latest)
    var me = tonk && tonk.peerId
    $('count').textContent = String(list.length)
    var ol = $('places')
    ol.textContent = ''
    var pins = $('pins')
    pins.textContent = ''
    list.forEach(function (p, i) {
      var li = document.createElement('li')
      li.dataset.placeId = p.id
      var name = document.createElement('span')
      name.className = p.id === looking ? 'name looking' : 'name'
      name.textContent = p.name
      name.title = 'Look at this place (others see that you do)'
      name.addEventListener('click', function () { lookAt(p.id === looking ? null : p.id) })
      li.appendChild(name)
      ;(lookers[p.id] || []).forEach(function (who) {
        var chip = document.createElement('span')
        chip.className = 'looker'
        chip.textContent = who
        chip.title = who + ' is looking at this place'
        li.appendChild(chip)
      })
      var mine = !!(p.votes && me && p.votes[me])
      var button = document.createElement('button')
      button.className = mine ? 'vote mine' : 'vote'
      button.textContent = '▲ ' + voteCount(p)
      button.title = mine ? 'Take back your vote' : 'Vote for this place'
      button.addEventListener('click', function () { toggleVote(p.id) })
      li.appendChild(button)
      if (p.note) {
        var note = document.createElement('span')
        note.className = 'note'
        note.textContent = p.note
        li.appendChild(note)
      }
      ol.appendChild(li)
      var pin = svg('circle', { cx: p.x, cy: p.y, r: 2.5 + Math.min(voteCount(p), 6) * 0.4, class: i === 0 ? 'pin top' : 'pin' })
      var title = svg('title', {})
      title.textContent = p.name + ' (' + voteCount(p) + ')'
      pin.appendChild(title)
      pins.appendChild(pin)
    })
  }

  // Presence: who else has the app open, and which place each one looks at (tonk.presence).
  var looking = null
  var lookers = {}
  function lookAt(id) {
    looking = id
    if (tonk && tonk.presence) tonk.presence.set('place', id)
    render(latest)
  }
  function showPresence(peers) {
    lookers = {}
    var names = peers.map(function (p) {
      var who = p.name || String(p.peerId || p.pageId).slice(0, 8)
      if (p.state && typeof p.state.place === 'string') (lookers[p.state.place] = lookers[p.state.place] || []).push(who)
      return who
    })
    $('here').textContent = names.length ? 'here now: ' + names.join(', ') : ''
    render(latest)
  }

  function addPlace(name, note) {
    var id = newId()
    var at = picked || { x: 20 + Math.random() * 320, y: 20 + Math.random() * 140 }
    return tonk.changeDoc(PLACES_PATH, function (doc) {
      if (!doc.places) doc.places = {}
      doc.places[id] = {
        name: name, note: note || '', x: Math.round(at.x * 10) / 10, y: Math.round(at.y * 10) / 10,
        addedBy: tonk.peerId, addedAt: Date.now(), votes: {},
      }
    })
  }

  function toggleVote(id) {
    return tonk.changeDoc(PLACES_PATH, function (doc) {
      var place = doc.places && doc.places[id]
      if (!place) return
      if (!place.votes) place.votes = {}
      if (place.votes[tonk.peerId]) delete place.votes[tonk.peerId]
      else place.votes[tonk.peerId] = true
    })
  }

  function wire() {
    $('map').addEventListener('click', function (e) {
      var box = e.currentTarget.getBoundingClientRect()
      picked = { x: ((e.clientX - box.left) / box.width) * 360, y: ((e.clientY - box.top) / box.height) * 180 }
      var mark = $('picked')
      mark.setAttribute('cx', picked.x)
      mark.setAttribute('cy', picked.y)
      mark.setAttribute('visibility', 'visible')
      $('place-name').focus()
    })
    $('add-form').addEventListener('submit', function (e) {
      e.preventDefault()
      var name = $('place-name').value.trim()
      if (!name || !tonk) return
      addPlace(name, $('place-note').value.trim()).then(function () {
        $('place-name').value = ''
        $('place-note').value = ''
        picked = null
        $('picked').setAttribute('visibility', 'hidden')
      }, function (err) { setStatus('could not save: ' + err.message, false) })
    })
  }

  // What the host says about the network: offline means changes stay on this device for now.
  function showNetwork() {
    var n = tonk.network || { online: true, peers: 0 }
    if (!n.online) setStatus('offline: your changes stay on this device until you go online', false)
    else setStatus('synced peer to peer as ' + String(tonk.peerId).slice(0, 8) + ' · ' + n.peers + (n.peers === 1 ? ' peer' : ' peers'), true)
  }

  function start(runtime) {
    tonk = runtime
    window.addEventListener('tonk:network', showNetwork)
    window.addEventListener('tonk:session-ended', function () { setStatus('the P2P session stopped: not syncing', false) })
    return tonk.ready.then(function () {
      showNetwork()
      if (tonk.presence) tonk.presence.listen(showPresence)
      tonk.listen(PLACES_PATH, render)
      return tonk.readDoc(PLACES_PATH).then(render)
    })
  }

  drawGrid()
  wire()
  render(latest)
  if (window.tonk) start(window.tonk)
  else {
    window.addEventListener('tonk:ready', function () { start(window.tonk) }, { once: true })
    setTimeout(function () {
      if (!tonk) setStatus('No Tonk runtime: open this bundle with "Tonk: Preview Bundle App" in VS Code.', false)
    }, 3000)
  }
})()
