"""The course's air-hockey game, re-implemented from its published facts (Box2D physics).

Two rackets and a puck on a 10 m x 8 m table seen from above.  Player one plays on the left and attacks the
right goal; player two is its mirror image.  Each player has four action numbers in [-1, 1]: force along x,
force along y, torque, and "shoot" (> 0.5 releases a held puck).  A racket that touches a slow puck catches it
and may hold it for up to 14 steps; the puck then leaves automatically at 60 m/s along the racket's heading.

Observation (18 floats, player one's view, world units relative to the table centre):

====  =====================================  ====  =====================================
0-1   own racket x, y                        9-10  opponent racket vx, vy
2     own racket angle (rad)                 11    opponent racket angular velocity
3-4   own racket vx, vy                      12-13 puck x, y
5     own racket angular velocity            14-15 puck vx, vy
6-7   opponent racket x, y                   16    own keep-puck timer (15 at the catch, 0 = free)
8     opponent racket angle                  17    opponent keep-puck timer
====  =====================================  ====  =====================================

``obs_agent_two()`` is the same table rotated by 180 degrees (positions and velocities negated, angles kept),
so both players see themselves on the left and one policy can play either side.

Reward (player one): +10 for a goal, -10 for conceding (only in the final step), plus a small dense penalty
proportional to the racket-puck distance while the puck is in the own half and not moving away.

Differences from the official package (deliberate fixes):

* a game that runs out of time ends with ``truncated=True`` (the official one reports ``terminated=True``);
* observations are float32, as the observation space declares (the official ones are float64);
* ``reset(seed=..., options={"mode": ..., "one_starting": ...})`` works (the official ``reset(mode=...)`` crashes);
* an unseeded ``reset()`` continues the env's random stream instead of drawing fresh OS entropy, and the
  opponent wrapper draws from the same generator, so one seed fixes a whole game;
* a seeded reset restarts the alternation of who serves, so ``reset(seed=s)`` always gives the same game;
* the keep-puck timers are zeroed at reset;
* stepping a finished game raises ``RuntimeError``; NaN/inf or wrongly shaped actions raise ``ValueError``;
* ``discrete_action_space`` is ``Discrete(8)`` (all eight documented codes; the official one declares 7).

The physics (Box2D 2.3, 180 velocity / 60 position iterations per 20 ms step), geometry, masses, forces,
damping switches, centre-line zone, soft boundaries, angle limit, keep mode, goal sensors and reset
randomisation follow the official game.
"""
from __future__ import annotations

import math
from enum import Enum

import Box2D
import gymnasium as gym
import numpy as np
from Box2D import b2CircleShape, b2FixtureDef, b2PolygonShape
from gymnasium import spaces

# --- table and physics constants (world units are metres; the source used pixels / SCALE) -------------
FPS = 50
DT = 1.0 / FPS
SCALE = 60.0
VIEWPORT_W, VIEWPORT_H = 600, 480
W, H = VIEWPORT_W / SCALE, VIEWPORT_H / SCALE          # 10 x 8
CENTER_X, CENTER_Y = W / 2, H / 2                      # (5, 4)
ZONE = W / 20                                          # 0.5: rackets may not come closer to the centre line
MAX_ANGLE = math.pi / 3
MAX_TIME_KEEP_PUCK = 15
GOAL_SIZE = 75                                         # px: half the goal mouth
RACKET_FACTOR = 1.2
FORCE_MULTIPLIER = 6000.0
SHOOT_FORCE_MULTIPLIER = 60.0
TORQUE_MULTIPLIER = 400.0
MAX_PUCK_SPEED = 25.0
MAX_PLAYER_SPEED = 10.0
PUCK_RADIUS = 13 / SCALE
MAX_DIST = 250 / SCALE                                 # scale of the closeness penalty
VELOCITY_ITERATIONS, POSITION_ITERATIONS = 180, 60

RACKET_POLY = [(-10, 20), (5, 20), (5, -20), (-10, -20), (-18, -10), (-21, 0), (-18, 10)]  # px, player one
GOAL_POST_POLY = [(-10, (VIEWPORT_H / 2 - 1) / 2 - GOAL_SIZE), (10, (VIEWPORT_H / 2 - 1) / 2 - GOAL_SIZE - 7),
                  (10, -5), (-10, -5)]             # px, bottom-left post; (H-1)/2*60 - 75 = 135

# collision categories: puck 0x01, rackets/goal solids/sensors 0x10, walls 0x11
PUCK_BITS, RACKET_BITS, WALL_BITS = 0x001, 0x010, 0x011


class Mode(Enum):
    NORMAL = 0
    TRAIN_SHOOTING = 1
    TRAIN_DEFENSE = 2


def parse_mode(mode) -> Mode:
    """A ``Mode``, its name ("NORMAL") or its value (0) -> ``Mode``; anything else is a clear error."""
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        try:
            return Mode[mode.upper()]
        except KeyError:
            pass
    elif isinstance(mode, (int, np.integer)) and not isinstance(mode, bool):
        try:
            return Mode(int(mode))
        except ValueError:
            pass
    valid = ", ".join(f"{m.name} ({m.value})" for m in Mode)
    raise ValueError(f"unknown hockey mode {mode!r}; valid modes: {valid}")


def check_action(action, size: int) -> np.ndarray:
    """Validate an action vector: right shape, finite; then clip to [-1, 1] (float32)."""
    a = np.asarray(action, dtype=np.float32)
    if a.shape != (size,):
        raise ValueError(f"action must have shape ({size},), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"action contains NaN or inf: {a}")
    return np.clip(a, -1.0, 1.0)


class _Contacts(Box2D.b2ContactListener):
    """Goal sensors end the game; a racket touching a slow puck catches it (keep mode)."""

    def __init__(self, env: "HockeyEnv"):
        super().__init__()
        self.env = env

    def BeginContact(self, contact):
        # pybox2d hands out new Python proxies for bodies, so bodies are told apart by their userData name
        env = self.env
        names = (contact.fixtureA.body.userData, contact.fixtureB.body.userData)
        if "puck" not in names:
            return
        other = names[1] if names[0] == "puck" else names[0]
        if other == "goal_player_2":       # the right goal: player one scored
            env.done, env.winner = True, 1
        elif other == "goal_player_1":
            env.done, env.winner = True, -1
        elif env.keep_mode:
            vx = env.puck.linearVelocity[0]
            if other == "player1" and env.player1_has_puck == 0 and vx < 0.1:
                env.player1_has_puck = MAX_TIME_KEEP_PUCK
            elif other == "player2" and env.player2_has_puck == 0 and vx > -0.1:
                env.player2_has_puck = MAX_TIME_KEEP_PUCK

    def EndContact(self, contact):
        pass


class HockeyEnv(gym.Env):
    """Two-player hockey: ``step`` takes both players' actions (8 numbers).  See the module docstring."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": FPS}

    def __init__(self, mode="NORMAL", keep_mode: bool = True, render_mode: str | None = None):
        if render_mode not in (None, "human", "rgb_array"):
            raise ValueError(f"unknown render_mode {render_mode!r}; valid: None, 'human', 'rgb_array'")
        self.keep_mode = bool(keep_mode)
        self._mode = parse_mode(mode)
        self.render_mode = render_mode
        self.player_action_dim = 4 if self.keep_mode else 3
        obs_dim = 18 if self.keep_mode else 16
        self.observation_space = spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2 * self.player_action_dim,), np.float32)
        self.discrete_action_space = spaces.Discrete(8 if self.keep_mode else 7)
        self.world = None
        self.one_starts = True
        self.done = True
        self.winner = 0
        self.time = 0
        self.player1_has_puck = 0
        self.player2_has_puck = 0
        self._screen = None
        self._clock = None
        self.np_random, _ = gym.utils.seeding.np_random(None)

    # --- properties ---------------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value) -> None:
        self._mode = parse_mode(value)

    @property
    def max_timesteps(self) -> int:
        return 250 if self._mode == Mode.NORMAL else 80

    # --- building the table -------------------------------------------------------------------
    def _static(self, position, vertices_px, category=WALL_BITS, mask=WALL_BITS):
        body = self.world.CreateStaticBody(position=position, userData="wall")
        body.CreateFixture(b2FixtureDef(shape=b2PolygonShape(vertices=[(x / SCALE, y / SCALE) for x, y in vertices_px]),
                                        density=0, friction=0.1, restitution=0.0,
                                        categoryBits=category, maskBits=mask))
        return body

    def _build_walls(self):
        hw, hh = 250, 10  # px half sizes of the top and bottom walls (500 x 20)
        box = [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
        self._static((CENTER_X, H - 0.5), box)
        self._static((CENTER_X, 0.5), box)
        left_x, right_x = CENTER_X - 245 / SCALE, CENTER_X + 245 / SCALE
        post = GOAL_POST_POLY
        self._static((left_x, 0.5), post)
        self._static((left_x, H - 0.5), [(x, -y) for x, y in post])
        self._static((right_x, 0.5), [(-x, y) for x, y in post])
        self._static((right_x, H - 0.5), [(-x, -y) for x, y in post])

    def _build_goal(self, x, name):
        body = self.world.CreateStaticBody(position=(x, CENTER_Y), userData=name)
        shape = b2PolygonShape(box=(10 / SCALE, GOAL_SIZE / SCALE))
        body.CreateFixture(b2FixtureDef(shape=shape, isSensor=True, categoryBits=RACKET_BITS, maskBits=PUCK_BITS))
        body.CreateFixture(b2FixtureDef(shape=shape, categoryBits=RACKET_BITS, maskBits=RACKET_BITS))
        return body

    def _build_racket(self, x, y, mirror: bool):
        sign = -1 if mirror else 1
        vertices = [(sign * px * RACKET_FACTOR / SCALE, py * RACKET_FACTOR / SCALE) for px, py in RACKET_POLY]
        body = self.world.CreateDynamicBody(position=(x, y), angle=0.0, userData="player2" if mirror else "player1")
        body.CreateFixture(b2FixtureDef(shape=b2PolygonShape(vertices=vertices), density=200.0 / RACKET_FACTOR,
                                        friction=1.0, restitution=0.0, categoryBits=RACKET_BITS,
                                        maskBits=PUCK_BITS | RACKET_BITS))
        body.linearDamping = 5.0
        body.angularDamping = 2.0
        return body

    def _build_puck(self, x, y):
        body = self.world.CreateDynamicBody(position=(x, y), angle=0.0, userData="puck")
        body.CreateFixture(b2FixtureDef(shape=b2CircleShape(radius=PUCK_RADIUS), density=7.0, friction=0.1,
                                        restitution=0.95, categoryBits=PUCK_BITS, maskBits=RACKET_BITS))
        body.linearDamping = 0.05
        return body

    # --- gymnasium API ------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        options = dict(options or {})
        unknown = set(options) - {"mode", "one_starting"}
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; valid: 'mode', 'one_starting'")
        super().reset(seed=seed)
        if seed is not None:
            self.one_starts = True  # restart the alternation: a seeded reset is always the same game
        if "mode" in options:
            self.mode = options["mode"]
        if "one_starting" in options:
            self.one_starts = bool(options["one_starting"])
        else:
            self.one_starts = not self.one_starts

        self.world = Box2D.b2World(gravity=(0, 0))
        self._contacts = _Contacts(self)
        self.world.contactListener = self._contacts
        self.done, self.winner, self.time = False, 0, 0
        self.player1_has_puck = self.player2_has_puck = 0
        self._build_walls()
        self.goal_player_1 = self._build_goal(CENTER_X - 255 / SCALE, "goal_player_1")
        self.goal_player_2 = self._build_goal(CENTER_X + 255 / SCALE, "goal_player_2")

        rand = self.np_random.uniform
        self.player1 = self._build_racket(W / 5, H / 2, mirror=False)
        if self._mode == Mode.NORMAL:
            p2x, p2y = 4 * W / 5, H / 2
        else:
            p2x = 4 * W / 5 + rand(-W / 3, W / 6)
            p2y = H / 2 + rand(-H / 4, H / 4)
        self.player2 = self._build_racket(p2x, p2y, mirror=True)

        if self._mode == Mode.TRAIN_DEFENSE:
            px = CENTER_X + rand(0, W / 3)
            py = CENTER_Y + 0.8 * rand(-H / 2, H / 2)
        else:
            serve_left = self._mode == Mode.TRAIN_SHOOTING or self.one_starts
            offset = rand(H / 8, H / 4)
            px = CENTER_X - offset if serve_left else CENTER_X + offset
            py = CENTER_Y + rand(-H / 8, H / 8)
        self.puck = self._build_puck(px, py)
        if self._mode == Mode.TRAIN_DEFENSE:
            aim = np.array([0.0, CENTER_Y + 0.6 * rand(-GOAL_SIZE / SCALE, GOAL_SIZE / SCALE)])
            direction = aim - np.array([px, py])
            direction /= np.linalg.norm(direction)
            force = direction * SHOOT_FORCE_MULTIPLIER * self.puck.mass / DT
            self.puck.ApplyForceToCenter((float(force[0]), float(force[1])), True)

        obs = self._get_obs()
        if self.render_mode == "human":
            self.render()
        return obs, self._get_info()

    def step(self, action):
        if self.world is None or self.done:
            raise RuntimeError("this game has ended (or was never started): call reset() before step()")
        a = check_action(action, self.action_space.shape[0])
        n = self.player_action_dim
        a1, a2 = a[:n], a[n:]
        self._move(self.player1, a1, player_one=True)
        self._move(self.player2, a2, player_one=False)
        puck_v = self.puck.linearVelocity
        self.puck.linearDamping = 10.0 if puck_v.length > MAX_PUCK_SPEED else 0.05
        if self.keep_mode:
            self.player1_has_puck = self._keep(self.player1, self.player1_has_puck, a1[3], sign=1.0)
            self.player2_has_puck = self._keep(self.player2, self.player2_has_puck, a2[3], sign=-1.0)
        self.world.Step(DT, VELOCITY_ITERATIONS, POSITION_ITERATIONS)

        obs = self._get_obs()
        timed_out = False
        if self.time >= self.max_timesteps and not self.done:
            self.done, timed_out = True, True
        info = self._get_info()
        reward = self.get_reward(info)
        self.time += 1
        terminated = self.done and not timed_out
        if self.render_mode == "human":
            self.render()
        return obs, reward, terminated, timed_out, info

    # --- one player's forces ----------------------------------------------------------------------
    def _move(self, player, a, player_one: bool):
        sign = 1.0 if player_one else -1.0
        fx, fy = sign * float(a[0]) * FORCE_MULTIPLIER, sign * float(a[1]) * FORCE_MULTIPLIER
        x, y = player.position
        vx, vy = player.linearVelocity
        m = player.mass
        in_zone = x > CENTER_X - ZONE if player_one else x < CENTER_X + ZONE
        if in_zone:
            # pushed back from the centre line: the action's x-force is replaced by a braking force
            fx = 0.0
            if (player_one and vx > 0) or (not player_one and vx < 0):
                fx = -2.0 * vx * m / DT
            fx += -sign * (x - CENTER_X) * vx * m / DT
            player.linearDamping = 20.0
            fx, fy = self._boundaries(player, fx, fy, player_one)
            player.ApplyForceToCenter((fx, fy), True)
        else:
            fx, fy = self._boundaries(player, fx, fy, player_one)
            speed = math.hypot(vx, vy)
            if speed < MAX_PLAYER_SPEED:
                player.linearDamping = 5.0
                player.ApplyForceToCenter((fx, fy), True)
            else:
                player.linearDamping = 20.0
                nvx, nvy = vx + DT * fx / m, vy + DT * fy / m
                if math.hypot(nvx, nvy) < speed:
                    player.ApplyForceToCenter((fx, fy), True)

        torque = float(a[2]) * TORQUE_MULTIPLIER
        angle, omega = player.angle, player.angularVelocity
        if abs(angle) > MAX_ANGLE:
            torque = -0.1 * omega * m / DT if angle * omega > 0 else 0.0
            torque += -0.1 * angle * m / DT
            player.angularDamping = 10.0
        else:
            player.angularDamping = 2.0
        player.ApplyTorque(torque, True)

    @staticmethod
    def _boundaries(player, fx, fy, player_one: bool):
        """Soft walls: a racket pushing out of its area stops there (velocity and force component zeroed)."""
        x, y = player.position
        vx, vy = player.linearVelocity
        if player_one:
            out_x = (x < 1.5 and fx < 0) or (x > CENTER_X and fx > 0)
        else:
            out_x = (x > W - 1.5 and fx > 0) or (x < CENTER_X and fx < 0)
        out_y = (y > H - 1.2 and fy > 0) or (y < 1.2 and fy < 0)
        if out_x:
            vx, fx = 0.0, 0.0
        if out_y:
            vy, fy = 0.0, 0.0
        if out_x or out_y:
            player.linearVelocity = (vx, vy)
        return fx, fy

    def _keep(self, player, timer: int, shoot: float, sign: float) -> int:
        """Hold the puck on the racket; shoot it when the timer runs out or the player asks."""
        if timer > 1:
            self.puck.position = player.position
            self.puck.linearVelocity = player.linearVelocity
            timer -= 1
            if timer == 1 or shoot > 0.5:
                angle = player.angle
                f = SHOOT_FORCE_MULTIPLIER * self.puck.mass / DT
                self.puck.ApplyForceToCenter((sign * math.cos(angle) * f, sign * math.sin(angle) * f), True)
                timer = 0
        return timer

    # --- observations, rewards, info --------------------------------------------------------------
    def _get_obs(self) -> np.ndarray:
        p1, p2, puck = self.player1, self.player2, self.puck
        values = [p1.position[0] - CENTER_X, p1.position[1] - CENTER_Y, p1.angle,
                  p1.linearVelocity[0], p1.linearVelocity[1], p1.angularVelocity,
                  p2.position[0] - CENTER_X, p2.position[1] - CENTER_Y, p2.angle,
                  p2.linearVelocity[0], p2.linearVelocity[1], p2.angularVelocity,
                  puck.position[0] - CENTER_X, puck.position[1] - CENTER_Y,
                  puck.linearVelocity[0], puck.linearVelocity[1]]
        if self.keep_mode:
            values += [self.player1_has_puck, self.player2_has_puck]
        return np.array(values, dtype=np.float32)

    def obs_agent_two(self) -> np.ndarray:
        """The observation from player two's side: the table rotated by 180 degrees."""
        o = self._get_obs()
        out = np.empty_like(o)
        out[0:2], out[2], out[3:5], out[5] = -o[6:8], o[8], -o[9:11], o[11]
        out[6:8], out[8], out[9:11], out[11] = -o[0:2], o[2], -o[3:5], o[5]
        out[12:16] = -o[12:16]
        if self.keep_mode:
            out[16], out[17] = o[17], o[16]
        return out

    def _closeness(self, player, own_half: bool) -> float:
        if not own_half:
            return 0.0
        factor = -30.0 / (MAX_DIST * self.max_timesteps / 2)
        d = player.position - self.puck.position
        return factor * math.hypot(d[0], d[1])

    def _get_info(self) -> dict:
        px, vx = self.puck.position[0], self.puck.linearVelocity[0]
        return {"winner": int(self.winner),
                "reward_closeness_to_puck": float(self._closeness(self.player1, px < CENTER_X and vx <= 0)),
                "reward_touch_puck": float(self.player1_has_puck == MAX_TIME_KEEP_PUCK),
                "reward_puck_direction": float(vx / (self.max_timesteps * MAX_PUCK_SPEED))}

    def get_info_agent_two(self) -> dict:
        px, vx = self.puck.position[0], self.puck.linearVelocity[0]
        return {"winner": -int(self.winner),
                "reward_closeness_to_puck": float(self._closeness(self.player2, px > CENTER_X and vx >= 0)),
                "reward_touch_puck": float(self.player2_has_puck == MAX_TIME_KEEP_PUCK),
                "reward_puck_direction": float(-vx / (self.max_timesteps * MAX_PUCK_SPEED))}

    def get_reward(self, info: dict) -> float:
        sparse = 10.0 * info["winner"] if self.done else 0.0
        return float(sparse + info["reward_closeness_to_puck"])

    def get_reward_agent_two(self, info_two: dict) -> float:
        return self.get_reward(info_two)

    def discrete_to_continuous_action(self, k: int) -> np.ndarray:
        """One player's action for discrete code k: 0 nothing, 1/2 x -/+, 3/4 y -/+, 5/6 turn -/+, 7 shoot."""
        if not 0 <= int(k) < self.discrete_action_space.n:
            raise ValueError(f"discrete action must be in 0..{self.discrete_action_space.n - 1}, got {k}")
        a = np.zeros(self.player_action_dim, np.float32)
        k = int(k)
        if 1 <= k <= 6:
            a[(k - 1) // 2] = -1.0 if k % 2 == 1 else 1.0
        elif k == 7:
            a[3] = 1.0
        return a

    # --- rendering -----------------------------------------------------------------------------------
    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() needs render_mode='rgb_array' or 'human' at construction")
            return None
        from .rendering import draw_table
        if self._screen is None:
            import pygame
            pygame.init()
            if self.render_mode == "human":
                pygame.display.init()
                self._screen = pygame.display.set_mode((VIEWPORT_W, VIEWPORT_H))
                self._clock = pygame.time.Clock()
            else:
                self._screen = pygame.Surface((VIEWPORT_W, VIEWPORT_H))
        frame = draw_table(self, self._screen)
        if self.render_mode == "human":
            import pygame
            pygame.event.pump()
            pygame.display.flip()
            self._clock.tick(self.metadata["render_fps"])
            return None
        return frame

    def close(self):
        if self._screen is not None:
            import pygame
            if self.render_mode == "human":
                pygame.display.quit()
            pygame.quit()
            self._screen = None
